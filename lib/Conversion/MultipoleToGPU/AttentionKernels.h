//===- AttentionKernels.h - split-KV attention kernels (GPU) ----*- C++ -*-===//
//
// The split-KV attention kernels, built with KernelBuilder: the CUDA-core
// kernel (dense decode, the exact part of the multipole step, the centroid
// approximation) and the tensor-core kernel (bf16, D = 64 / 128). Both write
// the same per-split partials (acc [B,Hq,S,D], m and l [B,Hq,S]), reduced by
// the combine / merge kernels of MergeKernels.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_ATTENTIONKERNELS_H
#define MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_ATTENTIONKERNELS_H

#include "KernelBuilder.h"
#include "KernelGen.h"

namespace mlir {
namespace multipole {
namespace gpugen {

/// `@<name>`: split-KV attention of one (split, KV head, sequence) on CUDA
/// cores over [0, lens[b]) or, with `sparse`, over the token list of the
/// exact part; writes per-split partials. Grid (splits, H, B).
gpu::GPUFuncOp buildAttentionSplitKernel(OpBuilder &b, Location loc,
                                         gpu::GPUModuleOp module,
                                         StringRef name, const AttnShape &s,
                                         const AttnLaunch &l, bool sparse,
                                         bool hasLens);

/// `@<name>`: the centroid approximation split over clusters (rows are
/// value centroids, f32 or, with `bf16Centroids`, bf16 extended to f32;
/// logits come from centroid_score, weights are the token counts; with
/// `hasParent`, clusters whose parent is selected at the coarse level
/// (capacity `Cparent`) are skipped). Grid (csplits, H, B).
gpu::GPUFuncOp buildApproxSplitKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const AttnShape &s, int64_t C,
                                      int64_t csplits, int64_t threads,
                                      bool hasParent, int64_t Cparent,
                                      int64_t laneFloats,
                                      bool bf16Centroids = false);

/// `@<name>`: split-KV attention on tensor cores (mma.sync bf16, cp.async
/// pipeline); same arguments and partials as buildAttentionSplitKernel.
gpu::GPUFuncOp buildMmaAttentionSplitKernel(OpBuilder &b, Location loc,
                                            gpu::GPUModuleOp module,
                                            StringRef name,
                                            const AttnShape &s, int64_t splits,
                                            bool sparse, bool hasLens);

/// `@<name>`: the centroid approximation on tensor cores (bf16 value
/// centroids; the tensor-core kernel in its approximation mode): the
/// arguments, grid (splits, H, B) and partials of buildApproxSplitKernel,
/// kMmaThreads threads and mmaAttentionSmemBytes(s, true) bytes of dynamic
/// shared memory. `s` is the approximation's shape (N = C clusters).
gpu::GPUFuncOp buildMmaApproxSplitKernel(OpBuilder &b, Location loc,
                                         gpu::GPUModuleOp module,
                                         StringRef name, const AttnShape &s,
                                         int64_t splits, bool hasParent,
                                         int64_t Cparent);

// -- pieces shared by the split kernels -------------------------------------

/// Whether the parent (coarse cluster) of item `j` exists and is selected:
/// pa[b, h, j] >= 0 and ps[b, h, pa[b, h, j]] != 0.
Value parentSelected(KernelBuilder &b, Value pa, Value ps, Value bb, Value h,
                     Value j);

/// Whether cluster j of (bb, h) counts in the approximation, and its token
/// count n (i32): non-empty, not selected (cnt, sel), `valid` and, with a
/// parent level (pa and ps non-null), its parent selected. Both
/// approximation kernels decide by it.
std::pair<Value, Value> approxCounts(KernelBuilder &b, Value cnt, Value sel,
                                     Value pa, Value ps, Value bb, Value h,
                                     Value j, Value valid);
/// log(n) of an i32 token count, the weight of a centroid's logit.
Value logCountOf(KernelBuilder &b, Value n);

/// A CTA's contiguous slice [lo, hi) of a (b, h) token sequence of
/// `count` tokens (i32, clamped to [0, N]), split into `splits` slices.
struct SplitRange {
  Value lo, hi, len;
};
SplitRange splitRange(KernelBuilder &b, Value count, Value split, int64_t N,
                      int64_t splits);

/// The partial states of a CTA's rows (groups of lanes, or warps) in
/// workgroup memory: `m`, `l` ([rows * G]: row r, head g at r * G + g) and
/// `acc` ([rows * G * D], row-major by D).
struct CtaPartials {
  Value m, l, acc;
  int64_t rows;
};

/// Merges the CTA's row partials into this split's partials `pacc`, `pm`,
/// `pl` of query heads h * G + g (threads of the CTA stride over G * D).
void storeSplitPartials(KernelBuilder &b, const CtaPartials &cta, Value pacc,
                        Value pm, Value pl, Value tid, Value bb, Value h,
                        Value split, int64_t G, int64_t D, int64_t threads);

} // namespace gpugen
} // namespace multipole
} // namespace mlir

#endif
