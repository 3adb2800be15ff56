//===- SparseAttentionLowering.cpp - sparse_attention -> GPU kernels ------===//
//
// The exact part of the multipole step: a compaction kernel writes the token
// list (sink, window, members of the selected clusters) into gpu.alloc'ed
// scratch, and a split-KV attention kernel attends over it. With split
// partials planned by multipole-gpu-plan the split kernel writes the op's
// outputs and the merge reads them; otherwise a combine kernel reduces the
// splits into a plain partial.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"
#include "Lowering.h"
#include "ScoreKernels.h"

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

struct SparseAttentionLowering : MultipoleGPUPattern<SparseAttentionOp> {
  using MultipoleGPUPattern::MultipoleGPUPattern;

  LogicalResult lower(SparseAttentionOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto qT = memrefType(adaptor.getQ()), kT = memrefType(adaptor.getK());
    AttnShape s{kT.getDimSize(0), qT.getDimSize(1), kT.getDimSize(1),
                kT.getDimSize(2), kT.getDimSize(3),
                eltName(qT.getElementType())};
    if (failed(checkShape(op, s)) ||
        failed(kvLayoutOf(op, adaptor.getK(), adaptor.getV(), s)))
      return failure();
    ValueRange idx = adaptor.getIndex(), outs = adaptor.getOuts();
    int64_t C = memrefType(idx[kCounts]).getDimSize(2);
    bool useMma = useMmaAttention(s, lc.knobs);
    AttnLaunch l = exactPartLaunch(s, lc.knobs);
    // Split partials planned by multipole-gpu-plan: the split kernel writes
    // them and the merge reads them (no combine).
    bool planned = memrefType(outs[0]).getRank() == 4;
    if (planned)
      l.splits = memrefType(outs[0]).getDimSize(2);
    std::string comp = lc.freshName("compact"),
                split = lc.freshName("exact_split"),
                comb = lc.freshName("exact_combine");
    Value cb = adaptor.getChunkBases();
    int64_t nch =
        cb ? memrefType(cb).getDimSize(2) - 1 : selectChunks(s.B, s.H);
    if (!selectChunksSupported(nch))
      return op.emitError() << "chunk bases of " << nch
                            << " chunks: the GPU token list takes 256, 512 or "
                               "1024 (multipole-gpu-plan plans them)";
    CompactSpec cspec{s.B, s.H, s.N, C, op.getConfig().getSink(), nch};
    if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          return cb ? buildCompactChunksKernel(ob, l2, m, comp, cspec)
                    : buildCompactKernel(ob, l2, m, comp, cspec);
        })) ||
        failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          return useMma ? buildMmaAttentionSplitKernel(ob, l2, m, split, s,
                                                       l.splits, true, true)
                        : buildAttentionSplitKernel(ob, l2, m, split, s, l,
                                                    true, true);
        })) ||
        (!planned && failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                                    gpu::GPUModuleOp m) {
           return buildCombineKernel(ob, l2, m, comb, s, l.splits, false);
         }))))
      return failure();
    Type i32 = rewriter.getI32Type();
    Value tok = alloc(rewriter, loc, {s.B, s.H, s.N}, i32);
    Value ntok = alloc(rewriter, loc, {s.B, s.H}, i32);
    SmallVector<Value> compArgs = {adaptor.getLens(), idx[kOffsets],
                                   idx[kMembers],     idx[kCounts],
                                   idx[kState],       adaptor.getSelected()};
    if (cb)
      compArgs.push_back(cb);
    compArgs.append({tok, ntok});
    if (cb)
      lc.launch(rewriter, loc, comp, {nch / 4, s.H, s.B}, 128, compArgs);
    else
      lc.launch(rewriter, loc, comp, {s.H, s.B, 1}, 512, compArgs);
    std::array<Value, 3> parts = {outs[0], outs[1], outs[2]};
    if (!planned)
      parts = allocPartials(rewriter, loc, s.B, s.Hq, l.splits, s.D);
    auto [pacc, pm, pl] = parts;
    lc.launch(rewriter, loc, split, {l.splits, s.H, s.B}, l.threads,
              {adaptor.getQ(), adaptor.getK(), adaptor.getV(), tok, ntok, pacc,
               pm, pl, scaleOf(rewriter, loc, op.getScaleAttr(), s.D)},
              useMma ? mmaAttentionSmemBytes(s) : 0);
    if (!planned) {
      lc.launch(rewriter, loc, comb, {s.Hq, s.B, 1}, s.D,
                {pacc, pm, pl, outs[0], outs[1], outs[2]});
      for (Value v : {pacc, pm, pl})
        dealloc(rewriter, loc, v);
    }
    for (Value v : {tok, ntok})
      dealloc(rewriter, loc, v);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::multipole::gpugen::populateSparseAttentionLoweringPatterns(
    RewritePatternSet &patterns, LoweringContext &lc) {
  patterns.add<SparseAttentionLowering>(lc);
}
