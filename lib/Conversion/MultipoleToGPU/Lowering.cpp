//===- Lowering.cpp - what the GPU lowering patterns share ----------------===//
//
// The LoweringContext's helpers, the host-IR helpers of the patterns, and
// populateMultipoleToGPUConversionPatterns, which gathers the patterns of
// every op family.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "multipole/Conversion/MultipoleToGPU/MultipoleToGPU.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {
/// Query heads per KV head, whose code the kernels unroll.
constexpr int64_t kMaxGroup = 64;

Value idx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
} // namespace

std::string LoweringContext::freshName(StringRef base) {
  return (base + "_" + Twine(counter++)).str();
}

void LoweringContext::launch(OpBuilder &b, Location loc, StringRef name,
                             std::array<int64_t, 3> grid, int64_t block,
                             ValueRange args, int64_t dynSmem) {
  gpu::KernelDim3 g{idx(b, loc, grid[0]), idx(b, loc, grid[1]),
                    idx(b, loc, grid[2])};
  gpu::KernelDim3 t{idx(b, loc, block), idx(b, loc, 1), idx(b, loc, 1)};
  Value smem;
  if (dynSmem)
    smem = arith::ConstantIntOp::create(b, loc, dynSmem, 32);
  gpu::LaunchFuncOp::create(b, loc, kernels.lookupSymbol<gpu::GPUFuncOp>(name),
                            g, t, smem, args);
}

int64_t LoweringContext::chooseSplits(int64_t B, int64_t H, int64_t N) const {
  if (knobs.splits > 0)
    return knobs.splits;
  // One full wave: 4 CTAs of the attention kernel fit per SM.
  int64_t target = 4 * knobs.numSMs;
  int64_t s = std::max<int64_t>(1, target / (B * H));
  int64_t maxS = std::max<int64_t>(1, (N + 255) / 256);
  return std::clamp<int64_t>(s, 1, maxS);
}

std::string mlir::multipole::gpugen::eltName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  return "f32";
}

Value mlir::multipole::gpugen::alloc(OpBuilder &b, Location loc,
                                     ArrayRef<int64_t> shape, Type elt) {
  auto t = MemRefType::get(shape, elt);
  return gpu::AllocOp::create(b, loc, t, Type(), ValueRange{}, ValueRange{},
                              ValueRange{}, false)
      .getMemref();
}

std::array<Value, 3> mlir::multipole::gpugen::allocPartials(
    OpBuilder &b, Location loc, int64_t B, int64_t Hq, int64_t S, int64_t D) {
  Type f32 = b.getF32Type();
  return {alloc(b, loc, {B, Hq, S, D}, f32), alloc(b, loc, {B, Hq, S}, f32),
          alloc(b, loc, {B, Hq, S}, f32)};
}

void mlir::multipole::gpugen::dealloc(OpBuilder &b, Location loc, Value v) {
  gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, v);
}

Value mlir::multipole::gpugen::scaleOf(OpBuilder &b, Location loc,
                                       FloatAttr scale, int64_t D) {
  double s = scale ? scale.getValueAsDouble() : 1.0 / std::sqrt(double(D));
  return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                        APFloat(float(s)));
}

LogicalResult mlir::multipole::gpugen::checkGroup(Operation *op, int64_t Hq,
                                                  int64_t H) {
  if (H > 0 && Hq % H == 0 && Hq / H > kMaxGroup)
    return op->emitError() << "the GPU kernels support at most " << kMaxGroup
                           << " query heads per KV head, got " << Hq / H
                           << " (" << Hq << " query heads, " << H
                           << " KV heads)";
  return success();
}

LogicalResult mlir::multipole::gpugen::checkShape(Operation *op,
                                                  const AttnShape &s) {
  std::string why;
  if (!attnShapeSupported(s, why))
    return op->emitError() << "the GPU attention kernels do not support this "
                              "shape: "
                           << why;
  return checkGroup(op, s.Hq, s.H);
}

void mlir::multipole::populateMultipoleToGPUConversionPatterns(
    RewritePatternSet &patterns, LoweringContext &context) {
  populateDecodeAttentionLoweringPatterns(patterns, context);
  populateClusterLoweringPatterns(patterns, context);
  populateScoreLoweringPatterns(patterns, context);
  populateSelectLoweringPatterns(patterns, context);
  populateSparseAttentionLoweringPatterns(patterns, context);
  populateApproxLoweringPatterns(patterns, context);
  populateMergeLoweringPatterns(patterns, context);
}
