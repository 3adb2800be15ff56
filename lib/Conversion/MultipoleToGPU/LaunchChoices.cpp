//===- LaunchChoices.cpp - split counts and widths from shapes and knobs --===//
//
// The choices that multipole-gpu-plan (which sizes the split partials it
// plans) and convert-multipole-to-gpu (which launches the kernels) must make
// alike.
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

#include "mlir/IR/Diagnostics.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::multipole::gpugen;

namespace {
/// Bounds of the generated code (Passes.td documents the options).
constexpr int64_t kMaxSplits = 65536;
constexpr int64_t kMaxSMs = 4096;
} // namespace

LogicalResult mlir::multipole::gpugen::checkGPUKnobs(const GPUKnobs &k,
                                                     Location loc,
                                                     StringRef pass) {
  auto range = [&](StringRef name, int64_t v, int64_t lo,
                   int64_t hi) -> LogicalResult {
    if (v >= lo && v <= hi)
      return success();
    return emitError(loc) << pass << " option " << name << "=" << v
                          << " is out of range [" << lo << ", " << hi << "]";
  };
  if (failed(range("splits", k.splits, 0, kMaxSplits)) ||
      failed(range("score-splits", k.scoreSplits, 0, kMaxSplits)) ||
      failed(range("approx-splits", k.approxSplits, 0, kMaxSplits)) ||
      failed(range("num-sms", k.numSMs, 1, kMaxSMs)) ||
      failed(range("score-lane-floats", k.scoreLaneFloats, 0, 1024)) ||
      failed(range("approx-lane-floats", k.approxLaneFloats, 0, 1024)))
    return failure();
  if (k.threads % 32 || k.threads < 32 || k.threads > 1024)
    return emitError(loc) << "threads must be a multiple of 32 in [32, 1024]";
  return success();
}

int64_t mlir::multipole::gpugen::splitsFor(int64_t B, int64_t H, int64_t items,
                                           int64_t minPer, int64_t ctas,
                                           int64_t forced) {
  if (forced > 0)
    return forced;
  int64_t s = std::max<int64_t>(1, ctas / (B * H));
  return std::clamp<int64_t>(s, 1, std::max<int64_t>(1, items / minPer));
}

AttnLaunch mlir::multipole::gpugen::exactPartLaunch(const AttnShape &s,
                                                    const GPUKnobs &k) {
  bool useMma = useMmaAttention(s, k);
  int64_t exactTokens = std::max<int64_t>(s.N / 8, 1);
  return {useMma ? splitsFor(s.B, s.H, exactTokens, 64, 2 * k.numSMs, k.splits)
                 : splitsFor(s.B, s.H, exactTokens, 128, 4 * k.numSMs,
                             k.splits),
          useMma ? kMmaThreads : k.threads};
}

bool mlir::multipole::gpugen::approxOperandsBf16(Operation *approx) {
  auto op = cast<CentroidApproxOp>(approx);
  auto vc = cast<MemRefType>(op.getIndex()[kVCentroids].getType());
  return vc.getElementType().isBF16() &&
         MultipoleDialect::Bf16WeightsAttrHelper(op.getContext())
             .isAttrPresent(op);
}

bool mlir::multipole::gpugen::useMmaApprox(const AttnShape &s,
                                          const GPUKnobs &k,
                                          bool bf16Centroids) {
  return k.mmaApprox && bf16Centroids && mmaApproxSupported(s);
}

ApproxLaunch mlir::multipole::gpugen::approxLaunch(const AttnShape &s,
                                                   int64_t C,
                                                   const GPUKnobs &k,
                                                   bool bf16Centroids) {
  // One wave: 32 bytes per lane: ~85 registers, 5 CTAs per SM; 64 bytes per
  // lane: ~134 registers, 3 CTAs per SM.
  int64_t lanePl =
      k.approxLaneFloats ? k.approxLaneFloats : approxFloatsPerLane(s);
  if (!laneFloatsFit(s.D, lanePl))
    return {0, 0};
  // Tensor cores: 3 stages of 64 value-centroid rows (48 KB at D 128) and
  // the warps' partials in shared memory, 4 CTAs per SM.
  if (useMmaApprox(s, k, bf16Centroids))
    return {lanePl, splitsFor(s.B, s.H, C, 64, 4 * k.numSMs, k.approxSplits),
            true};
  int64_t perSM = lanePl >= 16 ? 3 : 5;
  return {lanePl, splitsFor(s.B, s.H, C, 64, k.numSMs * perSM / 4 * 4,
                            k.approxSplits)};
}

bool mlir::multipole::gpugen::useMmaAttention(const AttnShape &s,
                                              const GPUKnobs &k) {
  return k.mma && mmaAttentionSupported(s);
}

std::vector<int64_t> mlir::multipole::gpugen::kvStridesOf(MemRefType t) {
  if (t.getLayout().isIdentity())
    return {};
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(t.getStridesAndOffset(strides, offset)))
    return {};
  return std::vector<int64_t>(strides.begin(), strides.end());
}
