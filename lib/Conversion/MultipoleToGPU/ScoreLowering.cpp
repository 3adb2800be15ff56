//===- ScoreLowering.cpp - centroid_score -> GPU kernels ------------------===//
//
// Centroid scoring: `<name>_logits` writes the logits of the queries against
// the key centroids and per-split (max, sum) pairs into gpu.alloc'ed scratch;
// `<name>_scores` turns them into the cluster scores, or, when
// multipole-gpu-plan marked the op `multipole.scores_in_select`, the
// selection kernel does (the pairs are handed over in the LoweringContext).
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "ScoreKernels.h"

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

struct ScoreLowering : MultipoleGPUPattern<CentroidScoreOp> {
  using MultipoleGPUPattern::MultipoleGPUPattern;

  LogicalResult lower(CentroidScoreOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto qT = memrefType(adaptor.getQ());
    ValueRange idx = adaptor.getIndex(), outs = adaptor.getOuts();
    Value cent = idx[kCentroids];
    auto cT = memrefType(cent);
    AttnShape s{qT.getDimSize(0), qT.getDimSize(1), cT.getDimSize(1), 1,
                qT.getDimSize(2), eltName(qT.getElementType())};
    int64_t C = cT.getDimSize(2);
    int64_t lanes = s.D / 4;
    if (s.D % 4 || lanes > 32 || (lanes & (lanes - 1)))
      return op.emitError() << "the GPU scoring kernel needs D/4 to be a "
                               "power of two <= 32, got D = "
                            << s.D;
    if (failed(checkGroup(op, s.Hq, s.H)))
      return failure();
    if (op.getConfig().getRopeTheta().convertToDouble() > 0 && lanes < 2)
      return op.emitError() << "windowed RoPE on the GPU needs D >= 8";
    const GPUKnobs &k = lc.knobs;
    double theta = op.getConfig().getRopeTheta().convertToDouble();
    int64_t pl =
        k.scoreLaneFloats ? k.scoreLaneFloats : scoreFloatsPerLane(s, theta);
    if (!laneFloatsFit(s.D, pl) || (theta > 0 && pl != 4))
      return op.emitError() << "score-lane-floats=" << pl
                            << " does not fit head dim " << s.D
                            << " (D / n must be a power of two <= 32; "
                               "windowed RoPE needs 4)";
    // One wave: the logits kernel (about 106 registers at 8 floats per lane,
    // 128 threads) fits 4 CTAs per SM (run 14: 178 registers, 3 waves at
    // B=1).
    int64_t cs = splitsFor(s.B, s.H, C, 64, 4 * k.numSMs, k.scoreSplits);
    std::string name = lc.freshName("score");
    // Scores: a few CTAs per SM (each walks its clusters serially).
    int64_t ss = splitsFor(s.B, s.H, C, 256, 16 * k.numSMs, 0);
    ScoreSpec spec{s,     C,  cs, ss, op.getConfig().getScorePosition(),
                   theta, pl, cT.getElementType().isBF16()};
    const bool fused =
        MultipoleDialect::ScoresInSelectAttrHelper(op.getContext())
            .isAttrPresent(op);
    if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          if (k.mmaLogits && mmaLogitsApplies(spec))
            return buildScoreLogitsMmaKernel(ob, l2, m, name + "_logits",
                                             spec);
          return buildScoreLogitsKernel(ob, l2, m, name + "_logits", spec);
        })) ||
        (!fused && failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                                  gpu::GPUModuleOp m) {
           return buildScoreScoresKernel(ob, l2, m, name + "_scores", spec);
         }))))
      return failure();
    Type f32 = rewriter.getF32Type();
    Value part = alloc(rewriter, loc, {s.B, s.Hq, cs, 2}, f32);
    lc.launch(rewriter, loc, name + "_logits", {cs, s.H, s.B}, 128,
              {adaptor.getQ(), cent, idx[kCounts], idx[kState],
               adaptor.getLens(), outs[1], part,
               scaleOf(rewriter, loc, op.getScaleAttr(), s.D)});
    if (fused) {
      lc.fusedScores[outs[0]] = {outs[1], part, s.G(), cs};
    } else {
      lc.launch(rewriter, loc, name + "_scores", {ss, s.H, s.B}, 256,
                {idx[kCounts], idx[kState], outs[1], part, outs[0]});
      dealloc(rewriter, loc, part);
    }
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::multipole::gpugen::populateScoreLoweringPatterns(
    RewritePatternSet &patterns, LoweringContext &lc) {
  patterns.add<ScoreLowering>(lc);
}
