//===- DistinctResults.cpp - one buffer per returned value -----------------===//
//
// Guards upstream buffer-results-to-out-params{hoist-static-allocs}, which
// crashes on `return %a, %a` when %a is an allocation: repeated returned
// buffers become copies.
//
//===----------------------------------------------------------------------===//
#include "multipole/Dialect/Multipole/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "llvm/ADT/DenseSet.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEDISTINCTRESULTS
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;

namespace {
struct DistinctResultsPass
    : public multipole::impl::MultipoleDistinctResultsBase<
          DistinctResultsPass> {
  void runOnOperation() override {
    WalkResult wr = getOperation().walk([&](func::ReturnOp ret) {
      llvm::SmallDenseSet<Value> seen;
      for (OpOperand &o : ret->getOpOperands()) {
        Value v = o.get();
        auto t = dyn_cast<MemRefType>(v.getType());
        if (!t || seen.insert(v).second)
          continue;
        if (!t.getLayout().isIdentity()) {
          ret.emitError() << "result #" << o.getOperandNumber()
                          << " returns the same buffer as an earlier result "
                             "and has a non-identity layout ("
                          << t << "); return distinct buffers";
          return WalkResult::interrupt();
        }
        OpBuilder b(ret);
        Location loc = ret.getLoc();
        SmallVector<Value> dynSizes;
        for (int64_t i = 0, e = t.getRank(); i < e; ++i)
          if (t.isDynamicDim(i))
            dynSizes.push_back(memref::DimOp::create(b, loc, v, i));
        Value copy = memref::AllocOp::create(b, loc, t, dynSizes);
        memref::CopyOp::create(b, loc, v, copy);
        o.set(copy);
      }
      return WalkResult::advance();
    });
    if (wr.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
