//===- PlanGPUStep.cpp - the GPU lowering's fusion decisions, in IR -------===//
//
// Implements --multipole-gpu-plan (see Passes.td): the selection's chunk
// bases become an explicit output of select_clusters and an operand of the
// sparse_attention that reads its mask.
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include "multipole/Conversion/Passes.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEGPUPLAN
#include "multipole/Conversion/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;
using namespace mlir::multipole;

namespace {

/// The exact part that reads `select`'s mask, if any (and not yet planned).
SparseAttentionOp exactReading(SelectClustersOp select) {
  Value mask = select.getOuts()[0];
  for (Operation *user : mask.getUsers())
    if (auto sp = dyn_cast<SparseAttentionOp>(user))
      if (sp.getSelected() == mask && !sp.getChunkBases() &&
          sp->getBlock() == select->getBlock() &&
          select->isBeforeInBlock(sp))
        return sp;
  return {};
}

struct MultipoleGPUPlanPass
    : public multipole::impl::MultipoleGPUPlanBase<MultipoleGPUPlanPass> {
  void runOnOperation() override {
    SmallVector<std::pair<SelectClustersOp, SparseAttentionOp>> work;
    getOperation().walk([&](SelectClustersOp select) {
      if (select.getOuts().size() != 1 ||
          !isa<MemRefType>(select.getOuts()[0].getType()))
        return;
      if (SparseAttentionOp sp = exactReading(select))
        work.push_back({select, sp});
    });
    for (auto [select, sp] : work) {
      auto mask = cast<MemRefType>(select.getOuts()[0].getType());
      int64_t B = mask.getDimSize(0), H = mask.getDimSize(1);
      int64_t chunks = gpugen::selectChunks(B, H);
      OpBuilder b(select);
      auto type = MemRefType::get({B, H, chunks + 1}, b.getI32Type());
      Value bases = memref::AllocOp::create(b, select.getLoc(), type);
      select.getOutsMutable().append(bases);
      sp.getChunkBasesMutable().assign(bases);
      b.setInsertionPointAfter(sp);
      memref::DeallocOp::create(b, sp.getLoc(), bases);
    }
  }
};

} // namespace
