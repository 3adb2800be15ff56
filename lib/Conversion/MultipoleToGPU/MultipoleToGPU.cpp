//===- MultipoleToGPU.cpp - multipole ops -> GPU kernels and launches -----===//
//
// Each op is replaced by launches of kernels built for its static shapes with
// KernelBuilder (one file per kernel family: AttentionKernels,
// MmaAttentionKernels, ScoreKernels, ClusterKernels, MergeKernels) into
// `gpu.module @multipole_kernels`; each kernel is verified once built. Per-call scratch buffers (split
// partials) are gpu.alloc'ed around the launches; the host functions' own
// allocations become gpu.alloc too, so every entry point works on device
// memory.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"
#include "ClusterKernels.h"
#include "KernelGen.h"
#include "ScoreKernels.h"

#include "multipole/Conversion/Passes.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"
#include "multipole/Support/PassOptions.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_CONVERTMULTIPOLETOGPU
#include "multipole/Conversion/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

std::string eltName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  return "f32";
}

MemRefType mt(Value v) { return cast<MemRefType>(v.getType()); }

/// Bounds of the generated code. Splits: CTAs per (sequence, head), far past
/// any useful split count but small enough that per-split buffers and
/// workgroup arrays stay sized. Group: query heads per KV head, whose code
/// the kernels unroll. Sequences and heads index the CUDA grid's y and z
/// dimensions (at most 65535).
constexpr int64_t kMaxGroup = 64;
constexpr int64_t kMaxGridYZ = 65535;
constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;
constexpr int64_t kMaxElements = int64_t(1) << 48;

struct ConvertMultipoleToGPUPass
    : public multipole::impl::ConvertMultipoleToGPUBase<
          ConvertMultipoleToGPUPass> {
  using ConvertMultipoleToGPUBase::ConvertMultipoleToGPUBase;

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(rejectEmptyOptionValues(getArgument(), options, errorHandler)))
      return failure();
    return ConvertMultipoleToGPUBase::initializeOptions(options, errorHandler);
  }

  // (the options are protected members of the generated base: each pass
  // that takes MultipoleGPUOptions lists them here)
  GPUKnobs knobs() const {
    return {splits,      threads,         numSMs, scoreSplits,
            approxSplits, scoreLaneFloats, approxLaneFloats, mma};
  }

  /// Options out of range are reported before any kernel is generated.
  LogicalResult checkOptions(Location loc) {
    return checkGPUKnobs(knobs(), loc, getArgument());
  }

  /// Operand checks shared by every op: identity layouts (the kernels index
  /// dense row-major buffers) and grid limits on sequences and heads.
  LogicalResult checkOperands(Operation *op) {
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      MemRefType t = mt(v);
      if (!t.getLayout().isIdentity())
        return op->emitError()
               << "convert-multipole-to-gpu needs memrefs with the identity "
                  "layout (contiguous, row-major); operand #"
               << i << " has type " << t;
      // Dimensions and sizes the kernels' index arithmetic can hold (head dims
      // times element sizes, offsets of whole caches) without overflow.
      int64_t elems = 1;
      for (int64_t d : t.getShape()) {
        if (d > kMaxDim)
          return op->emitError()
                 << "the GPU kernels take dimensions up to " << kMaxDim
                 << "; operand #" << i << " has type " << t;
        elems = d == 0 ? 0 : (elems > kMaxElements / d ? kMaxElements + 1 : elems * d);
      }
      if (elems > kMaxElements)
        return op->emitError() << "the GPU kernels take buffers of up to 2^48 "
                                  "elements; operand #"
                               << i << " has type " << t;
      if (t.getRank() >= 1 && t.getDimSize(0) > kMaxGridYZ)
        return op->emitError() << "the GPU kernels take at most " << kMaxGridYZ
                               << " sequences (the CUDA grid limit), operand #"
                               << i << " has " << t.getDimSize(0);
      if (t.getRank() >= 2 && t.getDimSize(1) > kMaxGridYZ)
        return op->emitError() << "the GPU kernels take at most " << kMaxGridYZ
                               << " heads (the CUDA grid limit), operand #"
                               << i << " has " << t.getDimSize(1);
    }
    return success();
  }

  LogicalResult checkGroup(Operation *op, int64_t Hq, int64_t H) {
    if (H > 0 && Hq % H == 0 && Hq / H > kMaxGroup)
      return op->emitError() << "the GPU kernels support at most " << kMaxGroup
                             << " query heads per KV head, got " << Hq / H
                             << " (" << Hq << " query heads, " << H
                             << " KV heads)";
    return success();
  }

  gpu::GPUModuleOp kernels;
  unsigned counter = 0;
  std::string freshName(StringRef base) {
    return (base + "_" + Twine(counter++)).str();
  }

  /// Builds a kernel into the kernel module with `build(b, loc, module)` and
  /// verifies it (a failure is a bug of the builder, reported by name).
  template <typename BuildFn>
  LogicalResult buildKernel(Location loc, BuildFn build) {
    OpBuilder b(&getContext());
    gpu::GPUFuncOp fn = build(b, loc, kernels);
    if (fn && succeeded(verify(fn)))
      return success();
    return emitError(loc) << "internal error: the generated GPU kernel "
                          << (fn ? "@" + fn.getName().str() : std::string())
                          << " does not verify";
  }

  gpu::GPUFuncOp kernel(StringRef name) {
    return kernels.lookupSymbol<gpu::GPUFuncOp>(name);
  }

  Value idx(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }

  void launch(OpBuilder &b, Location loc, StringRef name,
              std::array<int64_t, 3> grid, int64_t block, ValueRange args,
              int64_t dynSmem = 0) {
    gpu::KernelDim3 g{idx(b, loc, grid[0]), idx(b, loc, grid[1]),
                      idx(b, loc, grid[2])};
    gpu::KernelDim3 t{idx(b, loc, block), idx(b, loc, 1), idx(b, loc, 1)};
    Value smem;
    if (dynSmem)
      smem = arith::ConstantIntOp::create(b, loc, dynSmem, 32);
    gpu::LaunchFuncOp::create(b, loc, kernel(name), g, t, smem, args);
  }


  Value alloc(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt) {
    auto t = MemRefType::get(shape, elt);
    return gpu::AllocOp::create(b, loc, t, Type(), ValueRange{}, ValueRange{},
                                ValueRange{}, false)
        .getMemref();
  }

  /// Per-split partials (acc [B,Hq,S,D], m and l [B,Hq,S]) of an attention
  /// split kernel.
  std::array<Value, 3> allocPartials(OpBuilder &b, Location loc, int64_t B,
                                     int64_t Hq, int64_t S, int64_t D) {
    Type f32 = b.getF32Type();
    return {alloc(b, loc, {B, Hq, S, D}, f32), alloc(b, loc, {B, Hq, S}, f32),
            alloc(b, loc, {B, Hq, S}, f32)};
  }

  void dealloc(OpBuilder &b, Location loc, Value v) {
    gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, v);
  }

  Value scaleOf(OpBuilder &b, Location loc, FloatAttr scale, int64_t D) {
    double s = scale ? scale.getValueAsDouble() : 1.0 / std::sqrt(double(D));
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                          APFloat(float(s)));
  }

  int64_t chooseSplits(int64_t B, int64_t H, int64_t N) {
    if (splits > 0)
      return splits;
    // One full wave: 4 CTAs of the attention kernel fit per SM.
    int64_t target = 4 * numSMs;
    int64_t s = std::max<int64_t>(1, target / (B * H));
    int64_t maxS = std::max<int64_t>(1, (N + 255) / 256);
    return std::clamp<int64_t>(s, 1, maxS);
  }

  LogicalResult checkShape(Operation *op, const AttnShape &s) {
    std::string why;
    if (!attnShapeSupported(s, why))
      return op->emitError() << "the GPU attention kernels do not support this "
                                "shape: " << why;
    return checkGroup(op, s.Hq, s.H);
  }

  LogicalResult lowerDecode(DecodeAttentionOp op);
  LogicalResult lowerScore(CentroidScoreOp op);
  LogicalResult lowerBuildOrUpdate(Operation *op);
  LogicalResult hostFallback(Operation *op);
  LogicalResult lowerCoarsen(ClusterCoarsenOp op);
  LogicalResult lowerSelect(SelectClustersOp op);
  LogicalResult lowerSparse(SparseAttentionOp op);
  LogicalResult lowerApprox(CentroidApproxOp op);
  LogicalResult lowerMerge(MergeOp op);
  LogicalResult lowerOp(Operation *op);
  void dedupeKernels();

  void runOnOperation() override;
};

LogicalResult ConvertMultipoleToGPUPass::lowerDecode(DecodeAttentionOp op) {
  Location loc = op.getLoc();
  auto qT = mt(op.getQ()), kT = mt(op.getK());
  if (!qT.hasStaticShape() || !kT.hasStaticShape())
    return op.emitError() << "the GPU backend needs static shapes";
  AttnShape s{kT.getDimSize(0), qT.getDimSize(1), kT.getDimSize(1),
              kT.getDimSize(2), kT.getDimSize(3), eltName(qT.getElementType())};
  if (failed(checkShape(op, s)))
    return failure();
  bool useMma = mma && mmaAttentionSupported(s);
  // Tensor-core kernel: 2 CTAs per SM (about 104 KB of shared memory each).
  AttnLaunch l{useMma ? splitsFor(s.B, s.H, s.N, 64, 2 * numSMs, splits)
                      : chooseSplits(s.B, s.H, s.N),
               useMma ? kMmaThreads : threads};
  std::string split = freshName("decode_split"), comb = freshName("decode_combine");
  bool hasLens = static_cast<bool>(op.getLens());
  if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                  gpu::GPUModuleOp m) {
        return useMma ? buildMmaAttentionSplitKernel(ob, l2, m, split, s,
                                                     l.splits, false, hasLens)
                      : buildAttentionSplitKernel(ob, l2, m, split, s, l,
                                                  false, hasLens);
      })) ||
      failed(buildKernel(loc, [&](OpBuilder &b, Location l2, gpu::GPUModuleOp m) {
        return buildCombineKernel(b, l2, m, comb, s, l.splits, true);
      })))
    return failure();
  OpBuilder b(op);
  auto [pacc, pm, pl] = allocPartials(b, loc, s.B, s.Hq, l.splits, s.D);
  SmallVector<Value> args = {op.getQ(), op.getK(), op.getV()};
  if (op.getLens())
    args.push_back(op.getLens());
  args.append({pacc, pm, pl, scaleOf(b, loc, op.getScaleAttr(), s.D)});
  launch(b, loc, split, {l.splits, s.H, s.B}, l.threads, args,
         useMma ? mmaAttentionSmemBytes(s) : 0);
  launch(b, loc, comb, {s.Hq, s.B, 1}, s.D, {pacc, pm, pl, op.getOuts()[0]});
  for (Value v : {pacc, pm, pl})
    dealloc(b, loc, v);
  op.erase();
  return success();
}

LogicalResult ConvertMultipoleToGPUPass::lowerMerge(MergeOp op) {
  Location loc = op.getLoc();
  auto oT = mt(op.getOuts()[0]);
  AttnShape s{oT.getDimSize(0), oT.getDimSize(1), 1, 1, oT.getDimSize(2),
              eltName(oT.getElementType())};
  if (failed(checkShape(op, s)))
    return failure();
  if (s.D > 1024)
    return op.emitError() << "the GPU merge kernel runs a thread per element "
                             "of a row: head dim must be <= 1024, got "
                          << s.D;
  int64_t P = op.getPartials().size() / 3;
  std::string name = freshName("merge");
  ValueRange parts = op.getPartials();
  // Split partials (planned by multipole-gpu-plan) are read directly.
  std::vector<int64_t> splitCounts;
  bool anySplit = false;
  for (int64_t p = 0; p < P; ++p) {
    auto acc = mt(parts[3 * p]);
    splitCounts.push_back(acc.getRank() == 4 ? acc.getDimSize(2) : 0);
    anySplit |= splitCounts.back() > 0;
  }
  OpBuilder b(op);
  if (anySplit) {
    // The merge keeps every split's weight in static shared memory (48 KiB
    // per CTA with its other buffers).
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
    if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2, gpu::GPUModuleOp m) {
          return buildMergeSplitsKernel(ob, l2, m, name, s, splitCounts);
        })))
      return failure();
    SmallVector<Value> args(parts);
    args.push_back(op.getOuts()[0]);
    launch(b, loc, name, {s.Hq, s.B, 1}, 256, args);
    op.erase();
    return success();
  }
  if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2, gpu::GPUModuleOp m) {
        return buildMergeKernel(ob, l2, m, name, s, P);
      })))
    return failure();
  SmallVector<Value> args(op.getPartials());
  args.push_back(op.getOuts()[0]);
  launch(b, loc, name, {s.Hq, s.B, 1}, s.D, args);
  op.erase();
  return success();
}


LogicalResult ConvertMultipoleToGPUPass::lowerScore(CentroidScoreOp op) {
  Location loc = op.getLoc();
  auto qT = mt(op.getQ());
  Value cent = op.getIndex()[kCentroids];
  auto cT = mt(cent);
  AttnShape s{qT.getDimSize(0), qT.getDimSize(1), cT.getDimSize(1), 1,
              qT.getDimSize(2), eltName(qT.getElementType())};
  int64_t C = cT.getDimSize(2);
  int64_t lanes = s.D / 4;
  if (s.D % 4 || lanes > 32 || (lanes & (lanes - 1)))
    return op.emitError() << "the GPU scoring kernel needs D/4 to be a power "
                             "of two <= 32, got D = " << s.D;
  if (failed(checkGroup(op, s.Hq, s.H)))
    return failure();
  if (op.getConfig().getRopeTheta().convertToDouble() > 0 && lanes < 2)
    return op.emitError() << "windowed RoPE on the GPU needs D >= 8";
  double theta = op.getConfig().getRopeTheta().convertToDouble();
  int64_t pl = scoreLaneFloats ? scoreLaneFloats : scoreFloatsPerLane(s, theta);
  if (!laneFloatsFit(s.D, pl) || (theta > 0 && pl != 4))
    return op.emitError() << "score-lane-floats=" << pl << " does not fit head "
                             "dim " << s.D << " (D / n must be a power of two "
                             "<= 32; windowed RoPE needs 4)";
  // One wave: the logits kernel (about 106 registers at 8 floats per lane,
  // 128 threads) fits 4 CTAs per SM (run 14: 178 registers, 3 waves at B=1).
  int64_t cs = splitsFor(s.B, s.H, C, 64, 4 * numSMs, scoreSplits);
  std::string name = freshName("score");
  // Scores: a few CTAs per SM (each walks its clusters serially).
  int64_t ss = splitsFor(s.B, s.H, C, 256, 16 * numSMs, 0);
  ScoreSpec spec{s, C, cs, ss, op.getConfig().getScorePosition(), theta, pl};
  if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2, gpu::GPUModuleOp m) {
        return buildScoreLogitsKernel(ob, l2, m, name + "_logits", spec);
      })) ||
      failed(buildKernel(loc, [&](OpBuilder &ob, Location l2, gpu::GPUModuleOp m) {
        return buildScoreScoresKernel(ob, l2, m, name + "_scores", spec);
      })))
    return failure();
  OpBuilder b(op);
  Value part = alloc(b, loc, {s.B, s.Hq, cs, 2}, b.getF32Type());
  ValueRange idx = op.getIndex();
  launch(b, loc, name + "_logits", {cs, s.H, s.B}, 128,
         {op.getQ(), cent, idx[kCounts], idx[kState], op.getLens(),
          op.getOuts()[1], part, scaleOf(b, loc, op.getScaleAttr(), s.D)});
  launch(b, loc, name + "_scores", {ss, s.H, s.B}, 256,
         {idx[kCounts], idx[kState], op.getOuts()[1], part, op.getOuts()[0]});
  dealloc(b, loc, part);
  op.erase();
  return success();
}

LogicalResult ConvertMultipoleToGPUPass::lowerSelect(SelectClustersOp op) {
  Location loc = op.getLoc();
  auto rT = mt(op.getScores());
  int64_t B = rT.getDimSize(0), H = rT.getDimSize(1), C = rT.getDimSize(2);
  LevelAttr lvl = op.getConfig().getLevels()[op.getLevel()];
  int64_t bt = lvl.getBudgetTokens() ? *lvl.getBudgetTokens() : -1;
  double bf = lvl.getBudgetFraction() ? lvl.getBudgetFraction()->convertToDouble() : 0.0;
  bool hasParent = static_cast<bool>(op.getParentAssign());
  int64_t Cp = hasParent ? mt(op.getParentSelected()).getDimSize(2) : 0;
  std::string name = freshName("select");
  // With chunk bases (multipole-gpu-plan: the mask feeds the exact part), the
  // selection also writes where each chunk of clusters goes in the token
  // list (no serial compaction).
  Value cb = op.getOuts().size() > 1 ? op.getOuts()[1] : Value();
  bool feedsSparse = static_cast<bool>(cb);
  int64_t nch = cb ? mt(cb).getDimSize(2) - 1 : selectChunks(B, H);
  SelectSpec spec{B, H, C, bt, bf, hasParent, Cp, feedsSparse, nch};
  if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2, gpu::GPUModuleOp m) {
        return buildSelectKernel(ob, l2, m, name, spec);
      })))
    return failure();
  OpBuilder b(op);
  ValueRange idx = op.getIndex();
  SmallVector<Value> args = {op.getScores(), idx[kCounts], idx[kState]};
  if (hasParent)
    args.append({op.getParentAssign(), op.getParentSelected()});
  if (cb)
    args.push_back(cb);
  args.push_back(op.getOuts()[0]);
  launch(b, loc, name, {H, B, 1}, 1024, args);
  op.erase();
  return success();
}

LogicalResult ConvertMultipoleToGPUPass::lowerSparse(SparseAttentionOp op) {
  Location loc = op.getLoc();
  auto qT = mt(op.getQ()), kT = mt(op.getK());
  AttnShape s{kT.getDimSize(0), qT.getDimSize(1), kT.getDimSize(1),
              kT.getDimSize(2), kT.getDimSize(3), eltName(qT.getElementType())};
  if (failed(checkShape(op, s)))
    return failure();
  ValueRange idx = op.getIndex();
  int64_t C = mt(idx[kCounts]).getDimSize(2);
  bool useMma = mma && mmaAttentionSupported(s);
  AttnLaunch l = exactPartLaunch(s, knobs());
  // Split partials planned by multipole-gpu-plan: the split kernel writes
  // them and the merge reads them (no combine).
  ValueRange outs = op.getOuts();
  bool planned = mt(outs[0]).getRank() == 4;
  if (planned)
    l.splits = mt(outs[0]).getDimSize(2);
  std::string comp = freshName("compact"), split = freshName("exact_split"),
              comb = freshName("exact_combine");
  Value cb = op.getChunkBases();
  bool chunked = static_cast<bool>(cb);
  int64_t nch = cb ? mt(cb).getDimSize(2) - 1 : selectChunks(s.B, s.H);
  CompactSpec cspec{s.B, s.H, s.N, C, op.getConfig().getSink(), nch};
  if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2, gpu::GPUModuleOp m) {
        return chunked ? buildCompactChunksKernel(ob, l2, m, comp, cspec)
                       : buildCompactKernel(ob, l2, m, comp, cspec);
      })) ||
      failed(buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                  gpu::GPUModuleOp m) {
        return useMma ? buildMmaAttentionSplitKernel(ob, l2, m, split, s,
                                                     l.splits, true, true)
                      : buildAttentionSplitKernel(ob, l2, m, split, s, l,
                                                  true, true);
      })) ||
      (!planned &&
       failed(buildKernel(loc, [&](OpBuilder &ob, Location l2, gpu::GPUModuleOp m) {
         return buildCombineKernel(ob, l2, m, comb, s, l.splits, false);
       }))))
    return failure();
  OpBuilder b(op);
  Type i32 = b.getI32Type();
  Value tok = alloc(b, loc, {s.B, s.H, s.N}, i32);
  Value ntok = alloc(b, loc, {s.B, s.H}, i32);
  if (cb) {
    launch(b, loc, comp, {nch / 4, s.H, s.B}, 128,
           {op.getLens(), idx[kOffsets], idx[kMembers], idx[kCounts],
            idx[kState], op.getSelected(), cb, tok, ntok});
  } else {
    launch(b, loc, comp, {s.H, s.B, 1}, 512,
           {op.getLens(), idx[kOffsets], idx[kMembers], idx[kCounts],
            idx[kState], op.getSelected(), tok, ntok});
  }
  std::array<Value, 3> parts = {outs[0], outs[1], outs[2]};
  if (!planned)
    parts = allocPartials(b, loc, s.B, s.Hq, l.splits, s.D);
  auto [pacc, pm, pl] = parts;
  launch(b, loc, split, {l.splits, s.H, s.B}, l.threads,
         {op.getQ(), op.getK(), op.getV(), tok, ntok, pacc, pm, pl,
          scaleOf(b, loc, op.getScaleAttr(), s.D)},
         useMma ? mmaAttentionSmemBytes(s) : 0);
  if (!planned) {
    launch(b, loc, comb, {s.Hq, s.B, 1}, s.D,
           {pacc, pm, pl, outs[0], outs[1], outs[2]});
    for (Value v : {pacc, pm, pl})
      dealloc(b, loc, v);
  }
  for (Value v : {tok, ntok})
    dealloc(b, loc, v);
  op.erase();
  return success();
}

LogicalResult ConvertMultipoleToGPUPass::lowerApprox(CentroidApproxOp op) {
  Location loc = op.getLoc();
  auto aT = mt(op.getLogits());
  ValueRange idx = op.getIndex();
  auto vT = mt(idx[kVCentroids]);
  int64_t C = vT.getDimSize(2);
  AttnShape s{aT.getDimSize(0), aT.getDimSize(1), vT.getDimSize(1), C,
              vT.getDimSize(3), "f32"};
  if (failed(checkShape(op, s)))
    return failure();
  bool hasParent = static_cast<bool>(op.getParentAssign());
  int64_t Cp = hasParent ? mt(op.getParentSelected()).getDimSize(2) : 0;
  ApproxLaunch al = approxLaunch(s, C, knobs());
  int64_t lanePl = al.laneFloats;
  if (!lanePl)
    return op.emitError() << "approx-lane-floats="
                          << (approxLaneFloats ? (int64_t)approxLaneFloats
                                               : approxFloatsPerLane(s))
                          << " does not fit head dim " << s.D
                          << " (D / n must be a power of two <= 32)";
  ValueRange outs = op.getOuts();
  bool planned = mt(outs[0]).getRank() == 4;
  int64_t cs = planned ? mt(outs[0]).getDimSize(2) : al.splits;
  std::string split = freshName("approx_split"), comb = freshName("approx_combine");
  if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                  gpu::GPUModuleOp m) {
        return buildApproxSplitKernel(ob, l2, m, split, s, C, cs, threads,
                                      hasParent, Cp, lanePl);
      })) ||
      (!planned &&
       failed(buildKernel(loc, [&](OpBuilder &ob, Location l2, gpu::GPUModuleOp m) {
         return buildCombineKernel(ob, l2, m, comb, s, cs, false);
       }))))
    return failure();
  OpBuilder b(op);
  std::array<Value, 3> parts = {outs[0], outs[1], outs[2]};
  if (!planned)
    parts = allocPartials(b, loc, s.B, s.Hq, cs, s.D);
  auto [pacc, pm, pl] = parts;
  SmallVector<Value> args = {op.getLogits(), idx[kVCentroids], idx[kCounts],
                             idx[kState], op.getSelected()};
  if (hasParent)
    args.append({op.getParentAssign(), op.getParentSelected()});
  args.append({pacc, pm, pl, scaleOf(b, loc, FloatAttr(), s.D)});
  launch(b, loc, split, {cs, s.H, s.B}, threads, args);
  if (!planned) {
    launch(b, loc, comb, {s.Hq, s.B, 1}, s.D,
           {pacc, pm, pl, outs[0], outs[1], outs[2]});
    for (Value v : {pacc, pm, pl})
      dealloc(b, loc, v);
  }
  op.erase();
  return success();
}

static ClusterConfig clusterConfig(ConfigAttr cfg, unsigned level) {
  return ClusterConfig{cfg.getSink(),       cfg.getInterval(),
                       cfg.getBlockSize(),  cfg.getBuildIters(),
                       cfg.getUpdateIters(), cfg.extraClusters(),
                       cfg.fraction(level)};
}

/// cluster_build / cluster_update: k-means kernels on the device
/// (ClusterKernels.cpp). With windowed RoPE the pre-RoPE keys are first
/// written to an f32 scratch the size of the key cache.
LogicalResult ConvertMultipoleToGPUPass::lowerBuildOrUpdate(Operation *op) {
  Location loc = op->getLoc();
  bool build = isa<ClusterBuildOp>(op);
  Value k = build ? cast<ClusterBuildOp>(op).getK() : cast<ClusterUpdateOp>(op).getK();
  Value v = build ? cast<ClusterBuildOp>(op).getV() : cast<ClusterUpdateOp>(op).getV();
  Value lens = build ? cast<ClusterBuildOp>(op).getLens()
                     : cast<ClusterUpdateOp>(op).getLens();
  ValueRange outs = build ? cast<ClusterBuildOp>(op).getOuts()
                          : cast<ClusterUpdateOp>(op).getOuts();
  ConfigAttr cfg = build ? cast<ClusterBuildOp>(op).getConfig()
                         : cast<ClusterUpdateOp>(op).getConfig();
  auto kT = mt(k);
  ClusterShape s{kT.getDimSize(0), kT.getDimSize(1), kT.getDimSize(2),
                 kT.getDimSize(3), mt(outs[kCounts]).getDimSize(2),
                 kT.getDimSize(2), eltName(kT.getElementType())};
  if (s.D % 32)
    return hostFallback(op);
  ClusterConfig c = clusterConfig(cfg, 0);
  double theta = cfg.getRopeTheta().convertToDouble();
  OpBuilder b(op);
  Value P = k;
  std::string PE = s.elt;
  if (theta > 0) {
    std::string pr = freshName("prerope");
    if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                    gpu::GPUModuleOp m) {
          return buildPreropeKernel(ob, l2, m, pr, s, theta);
        })))
      return failure();
    P = alloc(b, loc, {s.B, s.H, s.N, s.D}, b.getF32Type());
    PE = "f32";
    launch(b, loc, pr, {(s.N + 15) / 16, s.H, s.B}, 256, {k, P});
  }
  Value norms = alloc(b, loc, {s.B, s.H, s.C}, b.getF32Type());
  if (build) {
    std::string name = freshName("cluster_build");
    if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                    gpu::GPUModuleOp m) {
          return buildClusterInitKernel(ob, l2, m, name + "_init", s, c);
        })) ||
        failed(buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                    gpu::GPUModuleOp m) {
          return buildClusterBlocksKernel(ob, l2, m, name + "_blocks", s, c,
                                          PE);
        })))
      return failure();
    SmallVector<Value> init = {lens};
    init.append(outs.begin(), outs.end());
    launch(b, loc, name + "_init", {s.H, s.B, 1}, 256, init);
    int64_t maxBlocks = std::max<int64_t>(1, s.N / c.blockSize + 1);
    SmallVector<Value> args = {lens, P, v};
    for (unsigned i = 0; i < kState; ++i)
      args.push_back(outs[i]);
    args.push_back(norms);
    launch(b, loc, name + "_blocks", {maxBlocks, s.H, s.B}, 256, args);
  } else {
    std::string name = freshName("cluster_update");
    if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                    gpu::GPUModuleOp m) {
          return buildClusterUpdateKernel(ob, l2, m, name, s, c, PE);
        })))
      return failure();
    SmallVector<Value> args = {lens, P, v};
    args.append(outs.begin(), outs.end());
    args.push_back(norms);
    launch(b, loc, name, {s.H, s.B, 1}, 256, args);
  }
  dealloc(b, loc, norms);
  if (P != k)
    dealloc(b, loc, P);
  op->erase();
  return success();
}

/// cluster_coarsen: weighted k-means over the fine centroids, one CTA per
/// (sequence, KV head).
LogicalResult ConvertMultipoleToGPUPass::lowerCoarsen(ClusterCoarsenOp op) {
  Location loc = op.getLoc();
  ValueRange fine = op.getFine(), outs = op.getOuts();
  auto fT = mt(fine[kCentroids]);
  ClusterShape s{fT.getDimSize(0), fT.getDimSize(1), 0, fT.getDimSize(3),
                 mt(outs[kCounts]).getDimSize(2), fT.getDimSize(2), "f32"};
  if (s.D % 32)
    return hostFallback(op);
  std::string name = freshName("cluster_coarsen");
  ClusterConfig c = clusterConfig(op.getConfig(), op.getLevel());
  if (failed(buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                  gpu::GPUModuleOp m) {
        return buildClusterCoarsenKernel(ob, l2, m, name, s, c);
      })))
    return failure();
  OpBuilder b(op);
  Value ids = alloc(b, loc, {s.B, s.H, s.M}, b.getI32Type());
  Value norms = alloc(b, loc, {s.B, s.H, s.C}, b.getF32Type());
  SmallVector<Value> args = {fine[kCentroids], fine[kVCentroids], fine[kCounts],
                             fine[kState]};
  args.append(outs.begin(), outs.end());
  args.append({ids, norms});
  launch(b, loc, name, {s.H, s.B, 1}, 256, args);
  dealloc(b, loc, ids);
  dealloc(b, loc, norms);
  op.erase();
  return success();
}

/// Cluster ops whose shapes the GPU k-means kernels do not take (head dim not
/// a multiple of 32) run on the host: operands are copied to host buffers,
/// the op is re-created there (convert-multipole-to-loops lowers it next) and
/// its outputs are copied back. Correct, but it moves the cache over PCIe.
LogicalResult ConvertMultipoleToGPUPass::hostFallback(Operation *op) {
  Location loc = op->getLoc();
  OpBuilder b(op);
  auto dps = cast<DestinationStyleOpInterface>(op);
  SmallVector<Value> hostOperands;
  SmallVector<std::pair<Value, Value>> copyBack; // (device, host)
  SmallVector<Value> hostBufs;
  for (OpOperand &o : op->getOpOperands()) {
    Value dev = o.get();
    auto t = mt(dev);
    Value host = memref::AllocOp::create(b, loc, MemRefType::get(t.getShape(),
                                                                 t.getElementType()));
    bool init = dps.isDpsInit(&o);
    // Inits of cluster_update are read; build/coarsen outputs are not.
    if (!init || isa<ClusterUpdateOp>(op))
      gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, host, dev);
    if (init)
      copyBack.push_back({dev, host});
    hostOperands.push_back(host);
    hostBufs.push_back(host);
  }
  OperationState st(loc, op->getName(), hostOperands, TypeRange{}, op->getAttrs());
  b.create(st);
  for (auto [dev, host] : copyBack)
    gpu::MemcpyOp::create(b, loc, Type(), ValueRange{}, dev, host);
  for (Value h : hostBufs)
    memref::DeallocOp::create(b, loc, h);
  op->erase();
  return success();
}

LogicalResult ConvertMultipoleToGPUPass::lowerOp(Operation *op) {
  if (auto d = dyn_cast<DecodeAttentionOp>(op))
    return lowerDecode(d);
  if (isa<ClusterBuildOp, ClusterUpdateOp>(op))
    return lowerBuildOrUpdate(op);
  if (auto c = dyn_cast<ClusterCoarsenOp>(op))
    return lowerCoarsen(c);
  if (auto o = dyn_cast<CentroidScoreOp>(op))
    return lowerScore(o);
  if (auto o = dyn_cast<SelectClustersOp>(op))
    return lowerSelect(o);
  if (auto o = dyn_cast<SparseAttentionOp>(op))
    return lowerSparse(o);
  if (auto o = dyn_cast<CentroidApproxOp>(op))
    return lowerApprox(o);
  if (auto m = dyn_cast<MergeOp>(op))
    return lowerMerge(m);
  return op->emitError() << "'" << op->getName()
                         << "' has no GPU lowering yet; compile for the CPU "
                            "(--target=cpu) or use --dense";
}

void ConvertMultipoleToGPUPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  SmallVector<Operation *> ops;
  SetVector<func::FuncOp> hosts;
  WalkResult wr = module.walk([&](Operation *op) {
    if (!isa<MultipoleDialect>(op->getDialect()))
      return WalkResult::advance();
    for (Value v : op->getOperands())
      if (!isa<MemRefType>(v.getType()) || !mt(v).hasStaticShape()) {
        op->emitError() << "convert-multipole-to-gpu expects bufferized ops "
                           "on statically shaped memrefs";
        return WalkResult::interrupt();
      }
    if (failed(checkOperands(op)))
      return WalkResult::interrupt();
    ops.push_back(op);
    if (auto f = op->getParentOfType<func::FuncOp>())
      hosts.insert(f);
    return WalkResult::advance();
  });
  if (wr.wasInterrupted())
    return signalPassFailure();
  if (ops.empty())
    return;
  if (failed(checkOptions(ops.front()->getLoc())))
    return signalPassFailure();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(ctx));
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  kernels = gpu::GPUModuleOp::create(mb, module.getLoc(), "multipole_kernels");
  // Host allocations of the rewritten functions live on the device.
  for (func::FuncOp f : hosts) {
    SmallVector<Operation *> allocs;
    f.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp, memref::AllocaOp>(op))
        allocs.push_back(op);
    });
    for (Operation *op : allocs) {
      OpBuilder b(op);
      if (auto a = dyn_cast<memref::AllocOp>(op)) {
        auto g = gpu::AllocOp::create(b, a.getLoc(), a.getType(), Type(),
                                      ValueRange{}, a.getDynamicSizes(),
                                      a.getSymbolOperands(), false);
        a.replaceAllUsesWith(g.getMemref());
        a.erase();
      } else if (auto a = dyn_cast<memref::AllocaOp>(op)) {
        auto g = gpu::AllocOp::create(b, a.getLoc(), a.getType(), Type(),
                                      ValueRange{}, a.getDynamicSizes(),
                                      a.getSymbolOperands(), false);
        a.replaceAllUsesWith(g.getMemref());
        a.erase();
      } else {
        auto d = cast<memref::DeallocOp>(op);
        dealloc(b, d.getLoc(), d.getMemref());
        d.erase();
      }
    }
  }
  for (Operation *op : ops)
    if (failed(lowerOp(op)))
      return signalPassFailure();
  dedupeKernels();
}

/// Kernels with equal specs are generated once: a kernel identical to an
/// earlier one but for its name (another layer of the same shape, two
/// combines of the same split count) is erased and its launches retargeted.
void ConvertMultipoleToGPUPass::dedupeKernels() {
  MLIRContext *ctx = &getContext();
  StringAttr placeholder = StringAttr::get(ctx, "__multipole_kernel");
  llvm::StringMap<StringAttr> firstOf;
  DenseMap<StringAttr, StringAttr> replacement;
  SmallVector<gpu::GPUFuncOp> duplicates;
  for (auto fn : kernels.getOps<gpu::GPUFuncOp>()) {
    StringAttr name = SymbolTable::getSymbolName(fn);
    std::string text;
    llvm::raw_string_ostream os(text);
    SymbolTable::setSymbolName(fn, placeholder);
    fn->print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
    SymbolTable::setSymbolName(fn, name);
    auto [it, inserted] = firstOf.try_emplace(text, name);
    if (inserted)
      continue;
    replacement[name] = it->second;
    duplicates.push_back(fn);
  }
  if (duplicates.empty())
    return;
  getOperation().walk([&](gpu::LaunchFuncOp launch) {
    auto it = replacement.find(launch.getKernelName());
    if (it != replacement.end())
      launch.setKernelAttr(SymbolRefAttr::get(
          kernels.getSymNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
  });
  for (gpu::GPUFuncOp fn : duplicates)
    fn.erase();
}

} // namespace
