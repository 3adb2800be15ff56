//===- Lowering.h - what the GPU lowering patterns share --------*- C++ -*-===//
//
// convert-multipole-to-gpu gives each multipole op family its own
// OpConversionPattern (DecodeAttentionLowering.cpp, ScoreLowering.cpp,
// SelectLowering.cpp, SparseAttentionLowering.cpp, ApproxLowering.cpp,
// MergeLowering.cpp, ClusterLowering.cpp). A pattern builds its kernels into
// the kernel module (`gpu.module @multipole_kernels`) and replaces the op by
// their launches, around gpu.alloc'ed scratch buffers. This header holds what
// the patterns share: the LoweringContext (kernel module, name counter, GPU
// knobs), the base class of the patterns, and helpers that create host IR.
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_LOWERING_H
#define MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_LOWERING_H

#include "KernelGen.h"

#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <array>
#include <string>

namespace mlir {
namespace multipole {
namespace gpugen {

/// The state the patterns share, held by reference (the pass owns it).
struct LoweringContext {
  LoweringContext(gpu::GPUModuleOp kernels, const GPUKnobs &knobs)
      : kernels(kernels), knobs(knobs) {}

  MLIRContext *getContext() { return kernels.getContext(); }

  /// The module the kernels are built into.
  gpu::GPUModuleOp kernels;
  GPUKnobs knobs;
  /// Suffix of the next kernel name. Kernels are named in the order the ops
  /// are lowered (the order of the IR), so the output is deterministic.
  unsigned counter = 0;
  /// Set when a lowering has reported an error: the patterns of the later
  /// ops then do nothing, so only the first error is reported (and the pass
  /// fails).
  bool failed = false;
  /// Cluster ops the host fallback re-created on host buffers: legal (they
  /// are lowered by convert-multipole-to-loops).
  llvm::DenseSet<Operation *> hostOps;
  /// What a centroid_score marked `multipole.scores_in_select` leaves to the
  /// select_clusters that reads its scores (ScoreLowering records it,
  /// SelectLowering takes it): per scores buffer, the logits, the logits
  /// kernel's split pairs (scratch the selection frees), G and the splits.
  struct FusedScores {
    Value logits, pairs;
    int64_t G, csplits;
  };
  llvm::DenseMap<Value, FusedScores> fusedScores;

  /// `base` + "_" + a fresh number.
  std::string freshName(StringRef base);

  /// Builds a kernel into the kernel module with `build(b, loc, module)` and
  /// verifies it (a failure is a bug of the builder, reported by name).
  /// Kernels are built with a builder of their own, not the conversion's
  /// rewriter: the kernel module is no part of the conversion (the pass
  /// creates it empty, and no pattern matches what goes into it).
  template <typename BuildFn>
  LogicalResult buildKernel(Location loc, BuildFn build) {
    OpBuilder b(getContext());
    gpu::GPUFuncOp fn = build(b, loc, kernels);
    if (fn && succeeded(verify(fn)))
      return success();
    return emitError(loc) << "internal error: the generated GPU kernel "
                          << (fn ? "@" + fn.getName().str() : std::string())
                          << " does not verify";
  }

  /// A gpu.launch_func of kernel `name`: grid `grid`, `block` threads.
  void launch(OpBuilder &b, Location loc, StringRef name,
              std::array<int64_t, 3> grid, int64_t block, ValueRange args,
              int64_t dynSmem = 0);

  /// Splits of the CUDA-core attention kernel (dense decode): the `splits`
  /// knob, or one full wave.
  int64_t chooseSplits(int64_t B, int64_t H, int64_t N) const;
};

/// The base of the lowering patterns: `lower` reports its failures as errors;
/// after the first, every pattern fails without doing anything.
///
/// The conversion treats the multipole ops as of unknown legality (not
/// illegal), so that an op a pattern fails on is left as it is instead of
/// reported again by the driver ("failed to legalize operation"): the error
/// `lower` emitted is the only diagnostic, and LoweringContext::failed makes
/// the pass fail.
template <typename Op>
class MultipoleGPUPattern : public OpConversionPattern<Op> {
public:
  using OpAdaptor = typename OpConversionPattern<Op>::OpAdaptor;

  explicit MultipoleGPUPattern(LoweringContext &lc)
      : OpConversionPattern<Op>(lc.getContext()), lc(lc) {}

  LogicalResult
  matchAndRewrite(Op op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const final {
    if (lc.failed)
      return rewriter.notifyMatchFailure(op, "an earlier lowering failed");
    // Host IR goes before the op.
    rewriter.setInsertionPoint(op);
    if (succeeded(lower(op, adaptor, rewriter)))
      return success();
    lc.failed = true;
    return failure();
  }

protected:
  /// Replaces `op` by kernel launches, or emits an error and fails.
  virtual LogicalResult lower(Op op, OpAdaptor adaptor,
                              ConversionPatternRewriter &rewriter) const = 0;

  LoweringContext &lc;
};

/// The patterns of each op family (in the file of the same name).
void populateDecodeAttentionLoweringPatterns(RewritePatternSet &patterns,
                                             LoweringContext &lc);
void populateClusterLoweringPatterns(RewritePatternSet &patterns,
                                     LoweringContext &lc);
void populateScoreLoweringPatterns(RewritePatternSet &patterns,
                                   LoweringContext &lc);
void populateSelectLoweringPatterns(RewritePatternSet &patterns,
                                    LoweringContext &lc);
void populateSparseAttentionLoweringPatterns(RewritePatternSet &patterns,
                                             LoweringContext &lc);
void populateApproxLoweringPatterns(RewritePatternSet &patterns,
                                    LoweringContext &lc);
void populateMergeLoweringPatterns(RewritePatternSet &patterns,
                                   LoweringContext &lc);

/// "bf16", "f16" or "f32" (the element type names of the kernel shapes).
std::string eltName(Type t);

/// The memref type of `v` (every operand of a multipole op, once the pass
/// has checked them).
inline MemRefType memrefType(Value v) { return cast<MemRefType>(v.getType()); }

/// A gpu.alloc of a `shape` x `elt` buffer.
Value alloc(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt);
/// Per-split partials (acc [B,Hq,S,D], m and l [B,Hq,S]) of an attention
/// split kernel.
std::array<Value, 3> allocPartials(OpBuilder &b, Location loc, int64_t B,
                                   int64_t Hq, int64_t S, int64_t D);
void dealloc(OpBuilder &b, Location loc, Value v);

/// The f32 scale of the logits: `scale`, or 1/sqrt(D) when absent.
Value scaleOf(OpBuilder &b, Location loc, FloatAttr scale, int64_t D);

/// Query heads per KV head within what the kernels unroll.
LogicalResult checkGroup(Operation *op, int64_t Hq, int64_t H);
/// A shape the attention kernels take (and checkGroup).
LogicalResult checkShape(Operation *op, const AttnShape &s);
/// The layout of an attention op's k and v for its kernels: row-major, or
/// strided (a [B, N, H, D] cache read in place, multipole-transpose-views) with
/// static strides, offset 0, a unit-stride head dim, rows aligned to 16 bytes,
/// no two elements at one address, and the same layout for both; sets
/// s.kvStrides. Anything else is reported at `op`.
LogicalResult kvLayoutOf(Operation *op, Value k, Value v, AttnShape &s);

} // namespace gpugen
} // namespace multipole
} // namespace mlir

#endif
