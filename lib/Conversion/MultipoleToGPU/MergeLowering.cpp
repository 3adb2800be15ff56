//===- MergeLowering.cpp - merge -> GPU kernels ---------------------------===//
//
// The log-sum-exp merge of the partials of the exact part and the
// approximation into the output: of plain partials [B,Hq,D], or of the
// per-split partials multipole-gpu-plan gave the ops it merges.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

struct MergeLowering : MultipoleGPUPattern<MergeOp> {
  using MultipoleGPUPattern::MultipoleGPUPattern;

  LogicalResult lower(MergeOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value out = adaptor.getOuts()[0];
    auto oT = memrefType(out);
    AttnShape s{oT.getDimSize(0), oT.getDimSize(1), 1, 1, oT.getDimSize(2),
                eltName(oT.getElementType())};
    if (failed(checkShape(op, s)))
      return failure();
    if (s.D > 1024)
      return op.emitError() << "the GPU merge kernel runs a thread per "
                               "element of a row: head dim must be <= 1024, "
                               "got "
                            << s.D;
    ValueRange parts = adaptor.getPartials();
    int64_t P = parts.size() / 3;
    std::string name = lc.freshName("merge");
    // Split partials (planned by multipole-gpu-plan) are read directly.
    std::vector<int64_t> splitCounts;
    bool anySplit = false;
    for (int64_t p = 0; p < P; ++p) {
      auto acc = memrefType(parts[3 * p]);
      splitCounts.push_back(acc.getRank() == 4 ? acc.getDimSize(2) : 0);
      anySplit |= splitCounts.back() > 0;
    }
    if (anySplit && failed(checkSplits(op, s, splitCounts)))
      return failure();
    if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          return anySplit
                     ? buildMergeSplitsKernel(ob, l2, m, name, s, splitCounts)
                     : buildMergeKernel(ob, l2, m, name, s, P);
        })))
      return failure();
    SmallVector<Value> args(parts);
    args.push_back(out);
    lc.launch(rewriter, loc, name, {s.Hq, s.B, 1}, anySplit ? 256 : s.D, args);
    rewriter.eraseOp(op);
    return success();
  }

  /// The merge of split partials keeps every split's weight in static shared
  /// memory (48 KiB per CTA with its other buffers) and reads rows a warp at
  /// a time.
  static LogicalResult checkSplits(MergeOp op, const AttnShape &s,
                                   ArrayRef<int64_t> splitCounts) {
    int64_t total = 0;
    for (int64_t c : splitCounts)
      total += std::max<int64_t>(c, 1);
    int64_t maxTotal = (48 * 1024 - 16 * 4 - 8 * s.D * 4) / 4 - 3;
    if (total > maxTotal)
      return op.emitError()
             << "the merge reads " << total
             << " split partials per head, more than its shared memory holds ("
             << maxTotal << " at head dim " << s.D
             << "); lower splits / approx-splits";
    if (s.D % 32)
      return op.emitError() << "the merge of split partials needs a head dim "
                               "that is a multiple of 32, got "
                            << s.D;
    return success();
  }
};

} // namespace

void mlir::multipole::gpugen::populateMergeLoweringPatterns(
    RewritePatternSet &patterns, LoweringContext &lc) {
  patterns.add<MergeLowering>(lc);
}
