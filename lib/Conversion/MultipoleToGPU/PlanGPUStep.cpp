//===- PlanGPUStep.cpp - the GPU lowering's fusion decisions, in IR -------===//
//
// Implements --multipole-gpu-plan (see Passes.td): the selection's chunk
// bases become an explicit output of select_clusters and an operand of the
// sparse_attention that reads its mask; the exact part and the approximation
// write per-split partials that the merge reads directly; an approximation
// in the block of a bf16 exact part gets `multipole.bf16_weights` (its
// weights may be rounded to bf16 as the exact part's are: mma-approx); a
// centroid_score whose scores only a select_clusters reads gets
// `multipole.scores_in_select` (fuse-scores: the selection kernel computes
// them).
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include "multipole/Conversion/Passes.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"
#include "multipole/Support/PassOptions.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEGPUPLAN
#include "multipole/Conversion/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

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

MemRefType mt(Value v) { return cast<MemRefType>(v.getType()); }

/// The merge that reads the partial `outs` of `op`, when it is their only
/// reader (deallocations aside) and it reads them as one triple.
MergeOp onlyMerge(Operation *op, ValueRange outs) {
  MergeOp merge;
  for (Value v : outs)
    for (Operation *u : v.getUsers()) {
      if (u == op || isa<memref::DeallocOp>(u))
        continue;
      auto m = dyn_cast<MergeOp>(u);
      if (!m || (merge && merge != m))
        return {};
      merge = m;
    }
  if (!merge || merge->getBlock() != op->getBlock())
    return {};
  ValueRange parts = merge.getPartials();
  for (unsigned p = 0; p < parts.size(); p += 3)
    if (parts[p] == outs[0])
      return parts[p + 1] == outs[1] && parts[p + 2] == outs[2] ? merge
                                                                : MergeOp();
  return {};
}

/// Replaces the plain partial `outs` of `op` (read only by `merge`) by split
/// partials of `splits` splits, allocated before `op` and freed after the
/// merge; the plain buffers, now unused, go.
void planSplitPartials(Operation *op, MutableOperandRange outs, MergeOp merge,
                       int64_t splits) {
  SmallVector<Value> old(outs.getAsOperandRange());
  auto acc = mt(old[0]);
  int64_t B = acc.getDimSize(0), Hq = acc.getDimSize(1), D = acc.getDimSize(2);
  OpBuilder b(op);
  Type f32 = b.getF32Type();
  Location loc = op->getLoc();
  SmallVector<Value> split = {
      memref::AllocOp::create(b, loc, MemRefType::get({B, Hq, splits, D}, f32)),
      memref::AllocOp::create(b, loc, MemRefType::get({B, Hq, splits}, f32)),
      memref::AllocOp::create(b, loc, MemRefType::get({B, Hq, splits}, f32))};
  outs.assign(split);
  MutableOperandRange parts = merge.getPartialsMutable();
  for (unsigned i = 0; i < parts.size(); ++i)
    for (unsigned j = 0; j < 3; ++j)
      if (parts[i].get() == old[j])
        parts[i].set(split[j]);
  b.setInsertionPointAfter(merge);
  for (Value v : split)
    memref::DeallocOp::create(b, loc, v);
  for (Value v : old) {
    Operation *def = v.getDefiningOp();
    if (!isa_and_nonnull<memref::AllocOp>(def))
      continue;
    if (llvm::all_of(v.getUsers(),
                     [](Operation *u) { return isa<memref::DeallocOp>(u); })) {
      for (Operation *u : llvm::make_early_inc_range(v.getUsers()))
        u->erase();
      def->erase();
    }
  }
}

/// The selection that alone reads the scores of `score` (deallocations
/// aside, in its block), in its block and after it, when every other reader
/// of its logits (the approximation) comes after that selection: the
/// selection kernel can then compute the scores (and the logits' -inf tail)
/// itself, once the deallocations before it move after it.
SelectClustersOp onlySelect(CentroidScoreOp score) {
  ValueRange outs = score.getOuts();
  if (outs.size() != 2)
    return {};
  SelectClustersOp sel;
  auto otherBlock = [&](Operation *u) {
    return u->getBlock() != score->getBlock();
  };
  for (Operation *u : outs[0].getUsers()) {
    if (isa<memref::DeallocOp>(u) && otherBlock(u))
      return {};
    if (u == score.getOperation() || isa<memref::DeallocOp>(u))
      continue;
    auto s = dyn_cast<SelectClustersOp>(u);
    if (!s || sel || s.getScores() != outs[0] ||
        s->getBlock() != score->getBlock() || !score->isBeforeInBlock(s) ||
        llvm::is_contained(s.getOuts(), outs[0]))
      return {};
    sel = s;
  }
  if (!sel)
    return {};
  for (Operation *u : outs[1].getUsers())
    if (u != score.getOperation() && u != sel.getOperation() &&
        (u->getBlock() != sel->getBlock() ||
         (!isa<memref::DeallocOp>(u) && !sel->isBeforeInBlock(u))))
      return {};
  return sel;
}

/// The shapes the kernels see (KernelGen.h), from the op's operands.
AttnShape exactShape(SparseAttentionOp op) {
  auto q = mt(op.getQ()), k = mt(op.getK());
  Type e = q.getElementType();
  AttnShape s{k.getDimSize(0), q.getDimSize(1), k.getDimSize(1),
              k.getDimSize(2), k.getDimSize(3),
              e.isBF16() ? "bf16" : e.isF16() ? "f16" : "f32",
              /*perLane=*/0,
              kvStridesOf(k)}; // the lowering's launch choice (no mma)
  return s;
}
AttnShape approxShape(CentroidApproxOp op) {
  auto a = mt(op.getLogits());
  auto vc = mt(op.getIndex()[kVCentroids]);
  return {a.getDimSize(0), a.getDimSize(1), vc.getDimSize(1), vc.getDimSize(2),
          vc.getDimSize(3), "f32", /*perLane=*/0, /*kvStrides=*/{}};
}

struct MultipoleGPUPlanPass
    : public multipole::impl::MultipoleGPUPlanBase<MultipoleGPUPlanPass> {
  using MultipoleGPUPlanBase::MultipoleGPUPlanBase;

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(rejectEmptyOptionValues(getArgument(), options, errorHandler)))
      return failure();
    return MultipoleGPUPlanBase::initializeOptions(options, errorHandler);
  }

  // (the options are protected members of the generated base: each pass
  // that takes MultipoleGPUOptions lists them here)
  GPUKnobs knobs() const {
    return {splits,      threads,         numSMs, scoreSplits,
            approxSplits, scoreLaneFloats, approxLaneFloats, mma, kmeansSplit,
            mmaLogits,   mmaApprox,       fuseScores};
  }

  /// Split partials for the exact part and the approximation whose partials
  /// only the merge reads. Shapes the kernels do not take are left alone
  /// (convert-multipole-to-gpu reports them).
  void planPartials() {
    GPUKnobs k = knobs();
    auto plannable = [](Value acc, const AttnShape &s) {
      std::string why;
      return isa<MemRefType>(acc.getType()) && mt(acc).getRank() == 3 &&
             mt(acc).hasStaticShape() && s.D % 32 == 0 &&
             attnShapeSupported(s, why);
    };
    // Ops still on tensors (not bufferized: convert-multipole-to-gpu reports
    // them) are left alone.
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<SparseAttentionOp, CentroidApproxOp>(op) &&
          llvm::all_of(op->getOperandTypes(), llvm::IsaPred<MemRefType>))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (auto sp = dyn_cast<SparseAttentionOp>(op)) {
        AttnShape s = exactShape(sp);
        MergeOp merge = onlyMerge(op, sp.getOuts());
        if (merge && plannable(sp.getOuts()[0], s))
          planSplitPartials(op, sp.getOutsMutable(), merge,
                            exactPartLaunch(s, k).splits);
        continue;
      }
      auto ap = cast<CentroidApproxOp>(op);
      // Weights may be rounded to bf16 beside an exact part that rounds its own.
      if (llvm::any_of(op->getBlock()->getOps<SparseAttentionOp>(),
                       [](SparseAttentionOp sp) {
                         return mt(sp.getK()).getElementType().isBF16();
                       }))
        MultipoleDialect::Bf16WeightsAttrHelper(ap.getContext())
            .setAttr(ap, UnitAttr::get(ap.getContext()));
      AttnShape s = approxShape(ap);
      MergeOp merge = onlyMerge(op, ap.getOuts());
      ApproxLaunch al = approxLaunch(s, s.N, k, approxOperandsBf16(ap));
      if (merge && al.laneFloats && plannable(ap.getOuts()[0], s))
        planSplitPartials(op, ap.getOutsMutable(), merge, al.splits);
    }
  }

  /// Scores computed by the selection that alone reads them (at most 32
  /// query heads per KV head: a warp each merges their split pairs), for
  /// levels of at most fusedScoresMaxClusters clusters: the selection is one
  /// CTA per head, so the scores' work moves onto B x Hkv SMs, which pays
  /// only while it is smaller than a launch (bench/NOTES.md, run 55).
  void planScoresInSelect() {
    if (!knobs().fuseScores)
      return;
    getOperation().walk([&](CentroidScoreOp score) {
      if (!llvm::all_of(score->getOperandTypes(), llvm::IsaPred<MemRefType>))
        return;
      int64_t Hq = mt(score.getQ()).getDimSize(1);
      int64_t H = mt(score.getIndex()[kCentroids]).getDimSize(1);
      int64_t C = mt(score.getOuts()[0]).getDimSize(2);
      if (H <= 0 || Hq % H || Hq / H > 32 || C > fusedScoresMaxClusters)
        return;
      SelectClustersOp sel = onlySelect(score);
      if (!sel)
        return;
      // The scores and logits live until the selection has read them.
      for (Value v : score.getOuts().take_front(2))
        for (Operation *u : llvm::make_early_inc_range(v.getUsers()))
          if (isa<memref::DeallocOp>(u) && u->isBeforeInBlock(sel))
            u->moveAfter(sel);
      MultipoleDialect::ScoresInSelectAttrHelper(score.getContext())
          .setAttr(score, UnitAttr::get(score.getContext()));
    });
  }

  void runOnOperation() override {
    if (failed(checkGPUKnobs(knobs(), getOperation().getLoc(), getArgument())))
      return signalPassFailure();
    planPartials();
    planScoresInSelect();
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
      int64_t chunks = selectChunks(B, H);
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
