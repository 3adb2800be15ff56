//===- Compile.cpp - IR file -> shared library ----------------------------===//
//
// Stages: detect + rewrite (optional) -> bufferize -> entry-point manifest ->
// lower to the LLVM dialect -> LLVM IR (+ manifest global) -> optimise ->
// object file -> shared library (linked by clang-22 or cc).
//
//===----------------------------------------------------------------------===//

#include "multipole/Driver/Compile.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"
#include "multipole/Dialect/Multipole/Transforms/Passes.h"
#include "multipole/Conversion/Passes.h"
#include "multipole/Driver/StreamEntryPoints.h"
#include "multipole/Pipelines/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/Timer.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <chrono>

using namespace mlir;
using namespace mlir::multipole;

#ifndef MULTIPOLE_CLANG
#define MULTIPOLE_CLANG "clang-22"
#endif

namespace {

std::string dtypeName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  if (t.isF32())
    return "f32";
  if (t.isF64())
    return "f64";
  if (t.isInteger(32))
    return "i32";
  if (t.isInteger(64))
    return "i64";
  if (t.isInteger(8))
    return "i8";
  return "unsupported";
}

/// The layout of a k / v argument of a bufferized entry point: "BNHD" when the
/// function reads it transposed to [B, Hkv, N, D] (a [B, N, Hkv, D] cache: the
/// view of multipole-transpose-views, or the copy where that view was not
/// possible), else "BHND".
StringRef kvLayoutOf(BlockArgument arg) {
  for (Operation *user : arg.getUsers()) {
    if (auto t = dyn_cast<memref::TransposeOp>(user))
      if (t.getPermutation() ==
          AffineMap::getPermutationMap(ArrayRef<unsigned>{0, 2, 1, 3},
                                       user->getContext()))
        return "BNHD";
    if (auto t = dyn_cast<linalg::TransposeOp>(user))
      if (t.getInput() == arg &&
          t.getPermutation() == ArrayRef<int64_t>{0, 2, 1, 3})
        return "BNHD";
  }
  return "BHND";
}

/// Describes the bufferized entry points (memref arguments and results;
/// results become trailing out-parameters later).
FailureOr<llvm::json::Value> buildManifest(ModuleOp module,
                                           const CompileOptions &opts) {
  llvm::json::Array entries;
  for (auto f : module.getOps<func::FuncOp>()) {
    if (f.isPrivate() || f.isExternal())
      continue;
    llvm::json::Array args;
    auto kind = f->getAttrOfType<StringAttr>(MultipoleDialect::EntryAttrHelper::getNameStr());
    auto describe = [&](Type t, DictionaryAttr attrs, StringRef io,
                        unsigned pos) -> LogicalResult {
      auto mt = dyn_cast<MemRefType>(t);
      if (!mt || !mt.hasStaticShape() || !mt.getLayout().isIdentity())
        return f.emitError() << "entry point argument #" << pos << " has type "
                             << t
                             << "; the C interface of compiled libraries "
                                "supports statically shaped tensors only";
      std::string role = "arg" + std::to_string(pos);
      if (attrs)
        if (auto r = attrs.getAs<StringAttr>(MultipoleDialect::RoleAttrHelper::getNameStr()))
          role = r.str();
      llvm::json::Array shape;
      for (int64_t d : mt.getShape())
        shape.push_back(d);
      llvm::json::Object arg{{"role", role},
                             {"dtype", dtypeName(mt.getElementType())},
                             {"shape", std::move(shape)},
                             {"io", io}};
      if ((role == "k" || role == "v") && mt.getRank() == 4 &&
          pos < f.getNumArguments())
        arg["layout"] = kvLayoutOf(f.getArgument(pos)).str();
      args.push_back(std::move(arg));
      return success();
    };
    bool update = kind && kind.getValue() == "update";
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      DictionaryAttr a = f.getArgAttrDict(i);
      StringRef io = "in";
      if (update && a)
        if (auto r = a.getAs<StringAttr>(MultipoleDialect::RoleAttrHelper::getNameStr()))
          if (r.getValue().starts_with("L"))
            io = "inout";
      if (failed(describe(f.getArgumentTypes()[i], a, io, i)))
        return failure();
    }
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      if (failed(describe(f.getResultTypes()[i], f.getResultAttrDict(i), "out",
                          f.getNumArguments() + i)))
        return failure();
    llvm::json::Object e{{"name", f.getSymName().str()},
                         {"symbol", ("_mlir_ciface_" + f.getSymName()).str()},
                         {"kind", kind ? kind.str() : std::string("function")},
                         {"args", std::move(args)}};
    if (auto s = f->getAttrOfType<FlatSymbolRefAttr>(MultipoleDialect::StepAttrHelper::getNameStr()))
      e["step"] = s.getValue().str();
    entries.push_back(std::move(e));
  }
  if (entries.empty())
    return emitError(module.getLoc())
           << "the module has no public function to export";
  std::string config;
  module.walk([&](Operation *op) {
    if (auto c = op->getAttr("config")) {
      llvm::raw_string_ostream os(config);
      c.print(os);
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  llvm::json::Object m{{"version", 2},
                       {"target", opts.target},
                       {"config", config},
                       {"entries", std::move(entries)}};
  if (opts.model)
    m["model"] = llvm::json::Object(*opts.model);
  return llvm::json::Value(std::move(m));
}

void tagDenseRoles(ModuleOp module) {
  Builder b(module.getContext());
  module.walk([&](func::FuncOp f) {
    f.walk([&](Operation *op) {
      if (!isa<DecodeAttentionOp>(op) ||
          op->getNumOperands() < 4)
        return;
      const char *roles[] = {"q", "k", "v", "lens"};
      unsigned n = op->getNumOperands() == 5 ? 4 : 3;
      for (unsigned i = 0; i < n; ++i)
        if (auto ba = dyn_cast<BlockArgument>(throughViews(op->getOperand(i))))
          if (ba.getOwner()->getParentOp() == f &&
              !f.getArgAttr(ba.getArgNumber(), MultipoleDialect::RoleAttrHelper::getNameStr()))
            f.setArgAttr(ba.getArgNumber(), MultipoleDialect::RoleAttrHelper::getNameStr(),
                         b.getStringAttr(roles[i]));
      for (OpOperand &use : op->getResult(0).getUses())
        if (isa<func::ReturnOp>(use.getOwner()))
          f.setResultAttr(use.getOperandNumber(), MultipoleDialect::RoleAttrHelper::getNameStr(),
                          b.getStringAttr("out"));
    });
  });
}

bool findPtxas() {
  for (const char *var : {"CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"})
    if (const char *d = std::getenv(var)) {
      llvm::SmallString<256> p(d);
      llvm::sys::path::append(p, "bin", "ptxas");
      if (llvm::sys::fs::can_execute(p))
        return true;
    }
  return static_cast<bool>(llvm::sys::findProgramByName("ptxas"));
}

/// build/lib (next to build/bin) holding libmultipole_cuda_runtime.so.
std::string findRuntimeDir() {
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, nullptr);
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(dir, "lib");
  llvm::SmallString<256> lib(dir);
  llvm::sys::path::append(lib, "libmultipole_cuda_runtime.so");
  if (const char *env = std::getenv("MULTIPOLE_RUNTIME_DIR"))
    return env;
  return llvm::sys::fs::exists(lib) ? std::string(dir) : std::string();
}

struct Stage {
  llvm::raw_ostream &log;
  bool verbose;
  std::chrono::steady_clock::time_point t0;
  Stage(llvm::raw_ostream &log, bool verbose, StringRef name)
      : log(log), verbose(verbose), t0(std::chrono::steady_clock::now()) {
    if (verbose)
      log << "[multipole-compile] " << name << " ...";
  }
  ~Stage() {
    if (verbose) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      log << " " << llvm::format("%.2f", s) << " s\n";
      log.flush();
    }
  }
};

LogicalResult runPipeline(ModuleOp module, StringRef pipeline) {
  PassManager pm(module.getContext());
  std::string err;
  llvm::raw_string_ostream es(err);
  if (failed(parsePassPipeline(pipeline, pm, es)))
    return emitError(module.getLoc()) << "invalid pass pipeline '" << pipeline
                              << "': " << err;
  return pm.run(module);
}

/// Finds a program that can link a shared library.
std::string findLinker() {
  if (const char *env = std::getenv("MULTIPOLE_LINKER"))
    return env;
  for (const char *cand : {MULTIPOLE_CLANG, "clang-22", "clang", "cc", "gcc"}) {
    if (llvm::sys::path::is_absolute(cand) && llvm::sys::fs::can_execute(cand))
      return cand;
    if (auto p = llvm::sys::findProgramByName(cand))
      return *p;
  }
  return "";
}

} // namespace

LogicalResult mlir::multipole::compileToSharedLibrary(ModuleOp module,
                                                      const CompileOptions &opts,
                                                      StringRef outPath,
                                                      llvm::raw_ostream &log) {
  if (opts.target != "cpu" && opts.target != "cuda")
    return emitError(module.getLoc())
           << "target '" << opts.target
           << "' is not available in this build; supported targets: cpu, cuda";
  bool cuda = opts.target == "cuda";
  bool ptx = opts.ptx;
  if (cuda && !ptx && !findPtxas()) {
    log << "[multipole-compile] warning: ptxas not found (set CUDA_HOME); "
           "embedding PTX, which the driver compiles at load time\n";
    ptx = true;
  }
  // 1. Detect and rewrite.
  {
    Stage s(log, opts.verbose, "detect + rewrite");
    std::string p;
    bool any = false;
    if (opts.detect) {
      p += "func.func(multipole-detect-decode-attention)";
      any = true;
    }
    if (opts.rewrite) {
      p += std::string(any ? "," : "") + "multipole-rewrite{" +
           opts.rewriteOptions + "}";
      any = true;
    }
    if (any && failed(runPipeline(module, p)))
      return failure();
  }
  bool hasMultipole = false;
  module.walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "multipole")
      hasMultipole = true;
  });
  // Asked for the multipole form and none came out: a library without it
  // would be a silent dense (or unrelated) build.
  if (!hasMultipole && opts.rewrite)
    return emitError(module.getLoc())
           << "no decode attention was found, so there is nothing to compile "
              "into the multipole form (the compiler looks for "
              "multipole.decode_attention, or for linalg decode attention as "
              "importers emit it: softmax(q.K^T * scale) . V for one query "
              "token); pass --dense to compile the module as it is";
  if (!hasMultipole && opts.verbose)
    log << "[multipole-compile] note: no decode attention found; compiling "
           "the module as is (--dense)\n";
  for (auto f : module.getOps<func::FuncOp>())
    if (f.isPublic() && !f.isExternal())
      f->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
  // Dense decode attention left as is (--dense): name the arguments' roles
  // for the manifest, as --multipole-rewrite does.
  tagDenseRoles(module);

  // 2. Bufferize and describe the entry points.
  llvm::json::Value manifest(nullptr);
  {
    Stage s(log, opts.verbose, "bufferize");
    if (failed(runPipeline(module, kBufferizePipeline)))
      return failure();
    FailureOr<llvm::json::Value> m = buildManifest(module, opts);
    if (failed(m))
      return failure();
    manifest = std::move(*m);
  }
  // The roles now live in the manifest; the LLVM translation does not know
  // these attributes.
  for (auto f : module.getOps<func::FuncOp>()) {
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      f.removeArgAttr(i, MultipoleDialect::RoleAttrHelper::getNameStr());
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      f.removeResultAttr(i, StringAttr::get(module.getContext(), MultipoleDialect::RoleAttrHelper::getNameStr()));
    f->removeAttr(MultipoleDialect::EntryAttrHelper::getNameStr());
    f->removeAttr(MultipoleDialect::StepAttrHelper::getNameStr());
  }
  // 3. Lower to the LLVM dialect (CUDA: kernels to a cubin or PTX).
  {
    Stage s(log, opts.verbose, cuda ? "lower to GPU kernels, NVVM and a cubin"
                                    : "lower to LLVM dialect");
    std::string p = kLowerToLLVMPipeline;
    if (cuda) {
      CUDAPipelineOptions o;
      o.chip = opts.chip;
      o.gpuOptions = opts.gpuOptions;
      o.format = ptx ? "isa" : "bin";
      p = cudaLoweringPipeline(o);
    }
    if (failed(runPipeline(module, p)))
      return failure();
  }
  if (opts.keepIntermediates) {
    std::error_code ec;
    llvm::raw_fd_ostream os((outPath + ".llvm.mlir").str(), ec);
    if (!ec)
      module.print(os);
  }
  // The kernels' readiness for programmatic dependent launch is a module
  // attribute of multipole-gpu-programmatic-launch, read here (the LLVM
  // translation does not know it).
  bool programmaticLaunch = false;
  if (module->hasAttr(kProgrammaticLaunchAttrName)) {
    programmaticLaunch = true;
    module->removeAttr(kProgrammaticLaunchAttrName);
  }
  // 4. LLVM IR, optimised, to an object file.
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext llctx;
  std::unique_ptr<llvm::Module> llmod;
  {
    Stage s(log, opts.verbose, "translate to LLVM IR");
    llmod = translateModuleToLLVMIR(module, llctx, "multipole");
    if (!llmod)
      return emitError(module.getLoc()) << "translation to LLVM IR failed";
  }
  // CUDA: the caller's-stream wrappers (ABI version 2).
  if (cuda) {
    if (llvm::Error e = addStreamEntryPoints(*llmod, *manifest.getAsObject(),
                                             programmaticLaunch))
      return emitError(module.getLoc())
             << "internal error: " << llvm::toString(std::move(e));
  }
  std::string manifestText;
  {
    llvm::raw_string_ostream os(manifestText);
    os << manifest;
  }
  auto *init = llvm::ConstantDataArray::getString(llctx, manifestText, true);
  auto *gv = new llvm::GlobalVariable(*llmod, init->getType(), true,
                                      llvm::GlobalValue::ExternalLinkage, init,
                                      "__multipole_manifest");
  gv->setVisibility(llvm::GlobalValue::DefaultVisibility);

  // Kernels are internal: only the entry points and the manifest are exported.
  for (llvm::Function &fn : *llmod)
    if (!fn.isDeclaration() && fn.getName().starts_with("__mp_"))
      fn.setLinkage(llvm::GlobalValue::InternalLinkage);

  llvm::Triple triple(llvm::sys::getProcessTriple());
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target)
    return emitError(module.getLoc()) << "no LLVM target for " << triple.str() << ": "
                              << err;
  std::string cpu = opts.cpu == "native" ? llvm::sys::getHostCPUName().str()
                                         : opts.cpu;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, "", llvm::TargetOptions(), llvm::Reloc::PIC_));
  if (!tm)
    return emitError(module.getLoc()) << "cannot create a target machine for CPU '"
                              << cpu << "'";
  llmod->setTargetTriple(triple);
  llmod->setDataLayout(tm->createDataLayout());
  {
    Stage s(log, opts.verbose, "optimise (O" + std::to_string(opts.optLevel) + ")");
    auto transformer = makeOptimizingTransformer(opts.optLevel, 0, tm.get());
    if (llvm::Error e = transformer(llmod.get()))
      return emitError(module.getLoc()) << "LLVM optimisation failed: "
                                << llvm::toString(std::move(e));
  }
  if (opts.keepIntermediates) {
    std::error_code ec;
    llvm::raw_fd_ostream os((outPath + ".ll").str(), ec);
    if (!ec)
      llmod->print(os, nullptr);
  }
  llvm::SmallString<128> objPath;
  if (auto ec = llvm::sys::fs::createTemporaryFile("multipole", "o", objPath))
    return emitError(module.getLoc()) << "cannot create a temporary file: "
                              << ec.message();
  llvm::FileRemover removeObj(objPath);
  {
    Stage s(log, opts.verbose, "emit object");
    std::error_code ec;
    llvm::raw_fd_ostream os(objPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return emitError(module.getLoc()) << "cannot write " << objPath << ": "
                                << ec.message();
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr,
                                llvm::CodeGenFileType::ObjectFile))
      return emitError(module.getLoc()) << "the target cannot emit object files";
    pm.run(*llmod);
  }
  // 5. Link.
  {
    Stage s(log, opts.verbose, "link");
    std::string linker = findLinker();
    if (linker.empty())
      return emitError(module.getLoc())
             << "no linker found: install clang-22 (or cc), or set "
                "MULTIPOLE_LINKER";
    // -Bsymbolic: an entry point named like a libc function (`step`) must
    // bind to itself. -z defs: every symbol resolves at link time, so a
    // library is never written that fails to load ("undefined symbol").
    llvm::SmallVector<llvm::StringRef> argv = {
        linker,  "-shared", "-Wl,-Bsymbolic", "-Wl,-z,defs", "-o",
        outPath, objPath,   "-lm"};
    std::string rtDir, rpath;
    if (cuda) {
      // The mgpu* symbols come from the project's CUDA runtime (dlopens
      // libcuda, so linking works without a GPU or a CUDA install).
      rtDir = findRuntimeDir();
      if (rtDir.empty())
        return emitError(module.getLoc())
               << "libmultipole_cuda_runtime.so not found next to the tools "
                  "(expected in <bin>/../lib); build the project fully";
      rtDir = "-L" + rtDir;
      rpath = "-Wl,-rpath," + rtDir.substr(2);
      argv.append({rtDir, "-lmultipole_cuda_runtime", rpath});
    }
    std::string msg;
    llvm::SmallString<128> logPath;
    llvm::sys::fs::createTemporaryFile("multipole-link", "log", logPath);
    llvm::FileRemover removeLog(logPath);
    std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath.str(),
                                                  logPath.str()};
    int rc = llvm::sys::ExecuteAndWait(linker, argv, std::nullopt, redirects, 0,
                                       0, &msg);
    if (rc != 0) {
      auto buf = llvm::MemoryBuffer::getFile(logPath);
      return emitError(module.getLoc())
             << "linking " << outPath << " with " << linker << " failed ("
             << (msg.empty() ? "exit code " + std::to_string(rc) : msg)
             << "): " << (buf ? (*buf)->getBuffer() : "");
    }
  }
  return success();
}
