//===- SelectLowering.cpp - select_clusters -> GPU kernels ----------------===//
//
// The budgeted radix selection of the clusters, one CTA per (sequence, KV
// head). With chunk bases (planned by multipole-gpu-plan when the mask feeds
// the exact part) it also writes where each chunk of clusters goes in the
// exact part's token list; after a centroid_score marked
// `multipole.scores_in_select` it first computes the scores it reads.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "ScoreKernels.h"

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

struct SelectLowering : MultipoleGPUPattern<SelectClustersOp> {
  using MultipoleGPUPattern::MultipoleGPUPattern;

  LogicalResult lower(SelectClustersOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto rT = memrefType(adaptor.getScores());
    int64_t B = rT.getDimSize(0), H = rT.getDimSize(1), C = rT.getDimSize(2);
    LevelAttr lvl = op.getConfig().getLevels()[op.getLevel()];
    int64_t bt = lvl.getBudgetTokens() ? *lvl.getBudgetTokens() : -1;
    double bf = lvl.getBudgetFraction()
                    ? lvl.getBudgetFraction()->convertToDouble()
                    : 0.0;
    Value parentAssign = adaptor.getParentAssign();
    bool hasParent = static_cast<bool>(parentAssign);
    int64_t Cp =
        hasParent ? memrefType(adaptor.getParentSelected()).getDimSize(2) : 0;
    std::string name = lc.freshName("select");
    // The chunk bases, when planned: a second output.
    ValueRange outs = adaptor.getOuts();
    Value cb = outs.size() > 1 ? outs[1] : Value();
    bool feedsSparse = static_cast<bool>(cb);
    int64_t nch = cb ? memrefType(cb).getDimSize(2) - 1 : selectChunks(B, H);
    if (!selectChunksSupported(nch))
      return op.emitError() << "chunk bases of " << nch
                            << " chunks: the GPU selection takes 256, 512 or "
                               "1024 (multipole-gpu-plan plans them)";
    SelectSpec spec{B, H, C, bt, bf, hasParent, Cp, feedsSparse, nch};
    // Scores its centroid_score left to this kernel (scores_in_select).
    auto fusedIt = lc.fusedScores.find(adaptor.getScores());
    std::optional<LoweringContext::FusedScores> fused;
    if (fusedIt != lc.fusedScores.end()) {
      fused = fusedIt->second;
      lc.fusedScores.erase(fusedIt);
      spec.fusedG = fused->G;
      spec.csplits = fused->csplits;
    }
    if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          return buildSelectKernel(ob, l2, m, name, spec);
        })))
      return failure();
    ValueRange idx = adaptor.getIndex();
    SmallVector<Value> args = {adaptor.getScores(), idx[kCounts], idx[kState]};
    if (hasParent)
      args.append({parentAssign, adaptor.getParentSelected()});
    if (cb)
      args.push_back(cb);
    args.push_back(outs[0]);
    if (fused)
      args.append({fused->logits, fused->pairs});
    lc.launch(rewriter, loc, name, {H, B, 1}, 1024, args);
    if (fused)
      dealloc(rewriter, loc, fused->pairs);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::multipole::gpugen::populateSelectLoweringPatterns(
    RewritePatternSet &patterns, LoweringContext &lc) {
  patterns.add<SelectLowering>(lc);
}
