//===- DropAliasingResults.cpp - in-place entry points ---------------------===//
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"
#include "multipole/Dialect/Multipole/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/BitVector.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEDROPALIASINGRESULTS
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;

namespace {
struct DropAliasingResultsPass
    : public multipole::impl::MultipoleDropAliasingResultsBase<
          DropAliasingResultsPass> {
  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      if (f.isExternal() || !f.isPublic() || !f->hasAttr(multipole::MultipoleDialect::EntryAttrHelper::getNameStr()))
        continue;
      // Entry points are called from outside; a call inside the module would
      // need its results rewritten too, so leave such functions alone.
      if (SymbolTable::symbolKnownUseEmpty(f, getOperation()) == false)
        continue;
      SmallVector<func::ReturnOp> returns;
      f.walk([&](func::ReturnOp r) { returns.push_back(r); });
      if (returns.size() != 1)
        continue;
      func::ReturnOp ret = returns.front();
      llvm::BitVector drop(f.getNumResults());
      for (OpOperand &o : ret->getOpOperands()) {
        auto ba = dyn_cast<BlockArgument>(o.get());
        if (ba && ba.getOwner() == &f.getBody().front() &&
            isa<BaseMemRefType>(ba.getType()))
          drop.set(o.getOperandNumber());
      }
      if (drop.none())
        continue;
      ret->eraseOperands(drop);
      if (failed(f.eraseResults(drop)))
        return signalPassFailure();
    }
  }
};
} // namespace
