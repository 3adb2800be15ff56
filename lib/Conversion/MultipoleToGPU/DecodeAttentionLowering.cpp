//===- DecodeAttentionLowering.cpp - decode_attention -> GPU kernels ------===//
//
// Dense decode attention: a split-KV kernel (tensor cores for bf16 with the
// `mma` knob, CUDA cores otherwise) writes per-split partials into gpu.alloc'ed
// scratch, and a combine kernel normalises them into the output.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"
#include "Lowering.h"

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

struct DecodeAttentionLowering : MultipoleGPUPattern<DecodeAttentionOp> {
  using MultipoleGPUPattern::MultipoleGPUPattern;

  LogicalResult lower(DecodeAttentionOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto qT = memrefType(adaptor.getQ()), kT = memrefType(adaptor.getK());
    if (!qT.hasStaticShape() || !kT.hasStaticShape())
      return op.emitError() << "the GPU backend needs static shapes";
    AttnShape s{kT.getDimSize(0), qT.getDimSize(1), kT.getDimSize(1),
                kT.getDimSize(2), kT.getDimSize(3),
                eltName(qT.getElementType())};
    if (failed(checkShape(op, s)) ||
        failed(kvLayoutOf(op, adaptor.getK(), adaptor.getV(), s)))
      return failure();
    const GPUKnobs &k = lc.knobs;
    bool useMma = useMmaAttention(s, k);
    // Tensor-core kernel: 2 CTAs per SM (about 104 KB of shared memory each).
    AttnLaunch l{useMma ? splitsFor(s.B, s.H, s.N, 64, 2 * k.numSMs, k.splits)
                        : lc.chooseSplits(s.B, s.H, s.N),
                 useMma ? kMmaThreads : k.threads};
    std::string split = lc.freshName("decode_split"),
                comb = lc.freshName("decode_combine");
    bool hasLens = static_cast<bool>(adaptor.getLens());
    if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          return useMma ? buildMmaAttentionSplitKernel(ob, l2, m, split, s,
                                                       l.splits, false, hasLens)
                        : buildAttentionSplitKernel(ob, l2, m, split, s, l,
                                                    false, hasLens);
        })) ||
        failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          return buildCombineKernel(ob, l2, m, comb, s, l.splits, true);
        })))
      return failure();
    auto [pacc, pm, pl] =
        allocPartials(rewriter, loc, s.B, s.Hq, l.splits, s.D);
    SmallVector<Value> args = {adaptor.getQ(), adaptor.getK(), adaptor.getV()};
    if (hasLens)
      args.push_back(adaptor.getLens());
    args.append({pacc, pm, pl, scaleOf(rewriter, loc, op.getScaleAttr(), s.D)});
    lc.launch(rewriter, loc, split, {l.splits, s.H, s.B}, l.threads, args,
              useMma ? mmaAttentionSmemBytes(s) : 0);
    lc.launch(rewriter, loc, comb, {s.Hq, s.B, 1}, s.D,
              {pacc, pm, pl, adaptor.getOuts()[0]});
    for (Value v : {pacc, pm, pl})
      dealloc(rewriter, loc, v);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::multipole::gpugen::populateDecodeAttentionLoweringPatterns(
    RewritePatternSet &patterns, LoweringContext &lc) {
  patterns.add<DecodeAttentionLowering>(lc);
}
