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

LogicalResult mlir::multipole::gpugen::kvLayoutOf(Operation *op, Value k,
                                                  Value v, AttnShape &s) {
  MemRefType kT = memrefType(k), vT = memrefType(v);
  s.kvStrides.clear();
  if (kT.getLayout().isIdentity() && vT.getLayout().isIdentity())
    return success();
  auto refuse = [&](StringRef why) {
    return op->emitError() << "the GPU attention kernels cannot read this k / "
                              "v layout ("
                           << why << "): " << kT << ", " << vT;
  };
  if (kT.getLayout() != vT.getLayout())
    return refuse("k and v differ");
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(kT.getStridesAndOffset(strides, offset)) || offset != 0 ||
      llvm::any_of(strides, [](int64_t x) {
        return ShapedType::isDynamic(x) || x <= 0;
      }))
    return refuse("strides must be static and positive, offset 0");
  if (strides[3] != 1)
    return refuse("the head dim must have stride 1");
  // (The stride of a dimension of size 1 is never used.)
  SmallVector<int> dims;
  for (int d = 0; d < 4; ++d)
    if (kT.getDimSize(d) > 1)
      dims.push_back(d);
  for (int d : dims)
    if (d < 3 && (strides[d] * s.eltBytes()) % 16)
      return refuse("every row must start at a multiple of 16 bytes");
  // No two (b, h, j, d) at one address: sorted by stride, each dimension
  // steps over the whole extent of the ones below it.
  llvm::sort(dims, [&](int a, int b) { return strides[a] < strides[b]; });
  for (size_t i = 0; i + 1 < dims.size(); ++i)
    if (strides[dims[i + 1]] < strides[dims[i]] * kT.getDimSize(dims[i]))
      return refuse("two elements would share an address");
  s.kvStrides.assign(strides.begin(), strides.end());
  return success();
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
