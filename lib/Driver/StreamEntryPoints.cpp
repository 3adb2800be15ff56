//===- StreamEntryPoints.cpp - caller's-stream wrappers --------------------===//
//
// Built with llvm::IRBuilder on the translated module (after MLIR's LLVM IR
// export, before optimisation, so the wrapper and the C interface function
// are optimised together).
//
//===----------------------------------------------------------------------===//

#include "multipole/Driver/StreamEntryPoints.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

using namespace llvm;

namespace mlir {
namespace multipole {

Error addStreamEntryPoints(Module &module, json::Object &manifest,
                           bool programmaticLaunch) {
  json::Array *entries = manifest.getArray("entries");
  if (!entries)
    return createStringError("the manifest has no entries");
  LLVMContext &ctx = module.getContext();
  Type *i32 = Type::getInt32Ty(ctx);
  PointerType *ptr = PointerType::getUnqual(ctx);
  // The runtime's MP_CALL_PROGRAMMATIC_LAUNCH (include/multipole/Runtime).
  constexpr int kCallProgrammaticLaunch = 1;
  FunctionCallee begin =
      programmaticLaunch
          ? module.getOrInsertFunction("mpCallBeginFlags",
                                       FunctionType::get(i32, {ptr, i32}, false))
          : module.getOrInsertFunction("mpCallBegin",
                                       FunctionType::get(i32, {ptr}, false));
  FunctionCallee end =
      module.getOrInsertFunction("mpCallEnd", FunctionType::get(i32, {}, false));

  for (json::Value &v : *entries) {
    json::Object *e = v.getAsObject();
    std::optional<StringRef> name = e ? e->getString("name") : std::nullopt;
    std::optional<StringRef> symbol = e ? e->getString("symbol") : std::nullopt;
    if (!name || !symbol)
      return createStringError("a manifest entry has no name or symbol");
    Function *callee = module.getFunction(*symbol);
    if (!callee || callee->isDeclaration())
      return createStringError("entry point " + *name + ": its C interface "
                               "function " + *symbol + " is missing");
    std::string wrapperName = (kStreamEntryPrefix + *name).str();
    if (module.getNamedValue(wrapperName))
      return createStringError("entry point " + *name + ": the symbol " +
                               wrapperName + " is already defined");

    // i32 (ptr stream, <the C interface's parameters>)
    SmallVector<Type *> params = {ptr};
    for (Type *t : callee->getFunctionType()->params())
      params.push_back(t);
    Function *wrapper =
        Function::Create(FunctionType::get(i32, params, false),
                         GlobalValue::ExternalLinkage, wrapperName, module);
    wrapper->getArg(0)->setName("stream");

    BasicBlock *entry = BasicBlock::Create(ctx, "entry", wrapper);
    BasicBlock *body = BasicBlock::Create(ctx, "call", wrapper);
    BasicBlock *failed = BasicBlock::Create(ctx, "not_started", wrapper);
    IRBuilder<> b(entry);
    Value *rc =
        programmaticLaunch
            ? b.CreateCall(begin,
                           {wrapper->getArg(0), b.getInt32(kCallProgrammaticLaunch)},
                           "rc")
            : b.CreateCall(begin, {wrapper->getArg(0)}, "rc");
    b.CreateCondBr(b.CreateICmpEQ(rc, b.getInt32(0)), body, failed);

    b.SetInsertPoint(body);
    SmallVector<Value *> args;
    for (unsigned i = 1; i < wrapper->arg_size(); ++i)
      args.push_back(wrapper->getArg(i));
    b.CreateCall(callee, args);
    b.CreateRet(b.CreateCall(end, {}, "first_error"));

    b.SetInsertPoint(failed);
    b.CreateRet(rc);

    (*e)["stream_symbol"] = wrapperName;
  }
  manifest["programmatic_launch"] = programmaticLaunch;
  return Error::success();
}

} // namespace multipole
} // namespace mlir
