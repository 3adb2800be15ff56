//===- ApproxLowering.cpp - centroid_approx -> GPU kernels ----------------===//
//
// The centroid approximation of the unselected clusters: a kernel split over
// clusters writes per-split partials, either the op's outputs (split partials
// planned by multipole-gpu-plan, read by the merge) or gpu.alloc'ed scratch
// that a combine kernel reduces into a plain partial.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"
#include "Lowering.h"

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

struct ApproxLowering : MultipoleGPUPattern<CentroidApproxOp> {
  using MultipoleGPUPattern::MultipoleGPUPattern;

  LogicalResult lower(CentroidApproxOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto aT = memrefType(adaptor.getLogits());
    ValueRange idx = adaptor.getIndex(), outs = adaptor.getOuts();
    auto vT = memrefType(idx[kVCentroids]);
    int64_t C = vT.getDimSize(2);
    AttnShape s{aT.getDimSize(0), aT.getDimSize(1), vT.getDimSize(1), C,
                vT.getDimSize(3), "f32"};
    if (failed(checkShape(op, s)))
      return failure();
    Value parentAssign = adaptor.getParentAssign();
    bool hasParent = static_cast<bool>(parentAssign);
    int64_t Cp =
        hasParent ? memrefType(adaptor.getParentSelected()).getDimSize(2) : 0;
    const GPUKnobs &k = lc.knobs;
    bool bf16 = vT.getElementType().isBF16();
    ApproxLaunch al = approxLaunch(s, C, k, approxOperandsBf16(op));
    int64_t lanePl = al.laneFloats;
    if (!lanePl)
      return op.emitError() << "approx-lane-floats="
                            << (k.approxLaneFloats ? k.approxLaneFloats
                                                   : approxFloatsPerLane(s))
                            << " does not fit head dim " << s.D
                            << " (D / n must be a power of two <= 32)";
    bool planned = memrefType(outs[0]).getRank() == 4;
    int64_t cs = planned ? memrefType(outs[0]).getDimSize(2) : al.splits;
    std::string split = lc.freshName("approx_split"),
                comb = lc.freshName("approx_combine");
    if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          if (al.mma)
            return buildMmaApproxSplitKernel(ob, l2, m, split, s, cs,
                                             hasParent, Cp);
          return buildApproxSplitKernel(ob, l2, m, split, s, C, cs, k.threads,
                                        hasParent, Cp, lanePl, bf16);
        })) ||
        (!planned && failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                                    gpu::GPUModuleOp m) {
           return buildCombineKernel(ob, l2, m, comb, s, cs, false);
         }))))
      return failure();
    std::array<Value, 3> parts = {outs[0], outs[1], outs[2]};
    if (!planned)
      parts = allocPartials(rewriter, loc, s.B, s.Hq, cs, s.D);
    auto [pacc, pm, pl] = parts;
    SmallVector<Value> args = {adaptor.getLogits(), idx[kVCentroids],
                               idx[kCounts], idx[kState],
                               adaptor.getSelected()};
    if (hasParent)
      args.append({parentAssign, adaptor.getParentSelected()});
    args.append({pacc, pm, pl, scaleOf(rewriter, loc, FloatAttr(), s.D)});
    lc.launch(rewriter, loc, split, {cs, s.H, s.B},
              al.mma ? kMmaThreads : k.threads, args,
              al.mma ? mmaAttentionSmemBytes(s, /*approx=*/true) : 0);
    if (!planned) {
      lc.launch(rewriter, loc, comb, {s.Hq, s.B, 1}, s.D,
                {pacc, pm, pl, outs[0], outs[1], outs[2]});
      for (Value v : {pacc, pm, pl})
        dealloc(rewriter, loc, v);
    }
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::multipole::gpugen::populateApproxLoweringPatterns(
    RewritePatternSet &patterns, LoweringContext &lc) {
  patterns.add<ApproxLowering>(lc);
}
