//===- KernelGen.h - shapes and launch choices of the GPU kernels -*- C++ -*-===//
//
// The GPU kernels of the multipole ops are built with KernelBuilder
// (KernelBuilder.h), specialised to static shapes: every dimension is a
// constant, so index arithmetic folds and loads are 16-byte vectors. This
// header holds what the kernel families share: the problem shapes, the launch
// choices that depend only on them, and the merge kernels (MergeKernels.cpp).
// Each family declares its builders in its own header (AttentionKernels.h,
// ScoreKernels.h, ClusterKernels.h).
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_KERNELGEN_H
#define MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_KERNELGEN_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>

#include <string>
#include <vector>

namespace mlir {
namespace multipole {
namespace gpugen {

class KernelBuilder;

/// Shapes of an attention problem.
struct AttnShape {
  int64_t B, Hq, H, N, D;
  std::string elt; // bf16 | f16 | f32
  /// Elements of a row per lane; 0 = one 16-byte load.
  int64_t perLane = 0;
  /// Strides (in elements) of k and v indexed as [B, H, N, D]; empty: the
  /// row-major [B, H, N, D] buffer. A [B, N, H, D] cache read in place has
  /// {N * H * D, D, H * D, 1} (multipole-transpose-views; kvLayoutOf).
  std::vector<int64_t> kvStrides = {};
  int64_t G() const { return Hq / H; }
  int64_t eltBytes() const { return elt == "f32" ? 4 : 2; }
  /// Elements per lane (a multiple of one 16-byte load), lanes per row.
  int64_t vec() const { return perLane ? perLane : 16 / eltBytes(); }
  int64_t lanes() const { return D / vec(); }
};

/// Launch parameters chosen from the shape.
struct AttnLaunch {
  int64_t splits;  // CTAs per (sequence, KV head)
  int64_t threads; // per CTA
};

/// The knobs of the GPU lowering (the options of convert-multipole-to-gpu and
/// multipole-gpu-plan, Passes.td).
struct GPUKnobs {
  int64_t splits, threads, numSMs, scoreSplits, approxSplits, scoreLaneFloats,
      approxLaneFloats;
  bool mma;
  bool kmeansSplit = true;
  bool mmaLogits = true;
  bool mmaApprox = false;
  bool fuseScores = false;
};

/// Out-of-range knobs, reported at `loc` as options of `pass`.
LogicalResult checkGPUKnobs(const GPUKnobs &k, Location loc, StringRef pass);

/// Splits over `items` per (sequence, head) so that about `ctas` CTAs run in
/// all (one wave: CTAs per SM x SMs), each with at least `minPer` items;
/// `forced` (> 0) wins.
int64_t splitsFor(int64_t B, int64_t H, int64_t items, int64_t minPer,
                  int64_t ctas, int64_t forced);

/// Whether the vectorised attention kernels apply (D * elt bytes a multiple of
/// 16, lanes per row a power of two dividing 32).
bool attnShapeSupported(const AttnShape &s, std::string &why);

/// Kernels built with KernelBuilder (MergeKernels.cpp) go at the end of
/// `module` and are returned.

/// `@<name>`: combines per-split partials into an output: either normalised
/// (`normalise`, output element type = s.elt) or as a partial (acc, m, l) f32.
/// Grid (Hq, B), D threads.
gpu::GPUFuncOp buildCombineKernel(OpBuilder &b, Location loc,
                                  gpu::GPUModuleOp module, StringRef name,
                                  const AttnShape &s, int64_t splits,
                                  bool normalise);

/// `@<name>`: log-sum-exp merge of P partials [B,Hq,D] into the output.
/// Grid (Hq, B), D threads.
gpu::GPUFuncOp buildMergeKernel(OpBuilder &b, Location loc,
                                gpu::GPUModuleOp module, StringRef name,
                                const AttnShape &s, int64_t P);

/// `@<name>`: the merge reading per-split partials directly (the combine
/// kernels of the exact part and the approximation are skipped): input p has
/// splits[p] splits ([B,Hq,S,D], [B,Hq,S]) or is a plain partial (0). Grid
/// (Hq, B), 256 threads; needs D % 32 == 0.
gpu::GPUFuncOp buildMergeSplitsKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const AttnShape &s,
                                      ArrayRef<int64_t> splits);

/// Floats of a centroid row each lane of the logits kernel reads (the
/// default for the shape).
int64_t scoreFloatsPerLane(const AttnShape &s, double theta);
/// Whether `pl` floats per lane tile a row of D floats (D / pl a power of two
/// <= 32).
bool laneFloatsFit(int64_t D, int64_t pl);

/// Chunks of consecutive clusters per (sequence, KV head) the selection
/// kernel sums (1024, 512 or 256: a divisor of its 1024 threads): fewer,
/// larger chunks at large batch so that the compaction launches fewer CTAs.
int64_t selectChunks(int64_t B, int64_t H);
/// Whether the selection and compaction kernels take `nch` chunks (chunk
/// bases planned in the IR): 256, 512 or 1024, what selectChunks gives.
bool selectChunksSupported(int64_t nch);
/// Clusters per chunk: with the clusters in registers (selectRegClusters),
/// 1024 / nch threads' clusters; otherwise ceil(C / nch).
int64_t selectChunk(int64_t C, int64_t nch);
/// Clusters each of the selection kernel's 1024 threads keeps in registers
/// (ceil(C / 1024)), or 0 when that is more than 16 (the clusters are then
/// read from global memory in every pass).
int64_t selectRegClusters(int64_t C);
/// The largest level whose scores the selection kernel computes
/// (multipole.scores_in_select): 4096 clusters, 4 a thread. Measured (run
/// 55): at 2058 clusters (32K tokens) the selection grows 8.2 -> 10.2 us and
/// the 3.6 us scores launch goes; at 8256 (128K) it grows 13.4 -> 18.6 us
/// against a 5.2 us launch, and a ragged batch of 8 lost 5% per token.
constexpr int64_t fusedScoresMaxClusters = 4096;

/// Floats of a value-centroid row per lane in the approximation kernel (0 =
/// one 16-byte load).
int64_t approxFloatsPerLane(const AttnShape &s);

enum class SplitMode { Dense, Sparse, Approx };

/// `@<name>`: copies a strided [B, H, N, D] k or v (s.kvStrides) into a
/// row-major buffer, a 16-byte vector per thread. Grid (ceil(N / tokens per
/// CTA), H, B), 256 threads. For the host fallback of cluster_build /
/// cluster_update (gpu.memcpy copies row-major buffers only).
gpu::GPUFuncOp buildKVCopyKernel(OpBuilder &b, Location loc,
                                 gpu::GPUModuleOp module, StringRef name,
                                 const AttnShape &s);
/// Threads and tokens per CTA of that kernel.
constexpr int64_t kKVCopyThreads = 256;
int64_t kvCopyTokensPerCta(const AttnShape &s);

/// The four entries of a [B, H, 4] i32 state (or block descriptor) at
/// (bb, h) as indices.
SmallVector<Value> loadStateQuad(KernelBuilder &b, Value st, Value bb,
                                 Value h);

/// Which rows of each (sequence, head) a centroid conversion covers.
struct ConvertRows {
  enum Kind {
    /// All C rows: grid (centroidConvertCtas(C, D), H, B).
    All,
    /// From the first cluster of the last block of the state (argument 2,
    /// [B, H, 4] i32: nc, lc, bst, bcs; cluster 0 while lc = 0) to nc +
    /// `extra`: what an update may read or create.
    OpenBlock,
    /// From the first cluster of the last block of the state at entry
    /// (argument 3) to the current nc (argument 2), and nothing when the
    /// two states are equal: what an update wrote.
    Touched,
  } kind = All;
  int64_t extra = 0;
  /// Rows the grid covers at once (a strided loop covers the rest); the
  /// grid is (centroidConvertCtas(gridRows, D), H, B).
  int64_t gridRows = 0;
};

/// dst = src with the element type converted (f32 <-> bf16: arith.extf /
/// arith.truncf, round to nearest even), both row-major [B, H, C, D] with D a
/// multiple of 8: a thread per 8 elements of a row, over the rows `rows`
/// names, kKVCopyThreads a CTA. The centroids of an index stored in bf16
/// reach the k-means kernels, which keep them in f32, through it
/// (ClusterLowering.cpp); an update converts only its last block's rows.
gpu::GPUFuncOp buildCentroidConvertKernel(OpBuilder &b, Location loc,
                                          gpu::GPUModuleOp module,
                                          StringRef name,
                                          ArrayRef<int64_t> shape, Type from,
                                          Type to,
                                          const ConvertRows &rows = {});
int64_t centroidConvertCtas(int64_t C, int64_t D);

/// Whether the tensor-core attention kernel applies (bf16, D 64 or 128,
/// G <= 8).
bool mmaAttentionSupported(const AttnShape &s);
/// Whether a launch uses it: the `mma` knob and a shape it takes (k / v in
/// either layout: its cp.async tiles read strided caches in place too).
bool useMmaAttention(const AttnShape &s, const GPUKnobs &k);
/// The strides of a k / v memref for AttnShape::kvStrides: empty for the
/// identity layout.
std::vector<int64_t> kvStridesOf(MemRefType t);
/// Its dynamic shared memory (bytes): the cp.async stages (value-centroid
/// rows only for the approximation) and the warps' partials.
int64_t mmaAttentionSmemBytes(const AttnShape &s, bool approx = false);
/// Whether the approximation on tensor cores takes the shape (D 64 or 128,
/// G <= 8; the value centroids must be bf16).
bool mmaApproxSupported(const AttnShape &s);
/// Threads per CTA of the tensor-core kernel.
constexpr int64_t kMmaThreads = 128;

/// Splits and threads of the exact part of the multipole step (about sink +
/// window + budget tokens, ~N/8 at the default knobs).
AttnLaunch exactPartLaunch(const AttnShape &s, const GPUKnobs &k);

/// Floats per lane and splits of the centroid approximation over C clusters
/// (s.D the head dim); lanes = 0 when the floats per lane do not tile a row.
/// `mma`: it runs on tensor cores (useMmaApprox; splits for its occupancy).
struct ApproxLaunch {
  int64_t laneFloats, splits;
  bool mma = false;
};
ApproxLaunch approxLaunch(const AttnShape &s, int64_t C, const GPUKnobs &k,
                          bool bf16Centroids = false);
/// Whether the approximation runs on tensor cores: the mma-approx knob, bf16
/// operands (approxOperandsBf16) and a shape mmaApproxSupported takes.
bool useMmaApprox(const AttnShape &s, const GPUKnobs &k, bool bf16Centroids);
/// Whether the centroid_approx `approx` may run on tensor cores: bf16 value
/// centroids, and `multipole.bf16_weights`, which multipole-gpu-plan sets when
/// the step's exact part reads bf16 caches (its weights are then rounded to
/// bf16 as the exact part's are; an f32 model keeps f32 weights).
bool approxOperandsBf16(Operation *approx);

/// Shapes of a cluster op: B, H, N cached tokens, D, C the level's capacity,
/// M the rows of its members/assign arrays (N at level 0, C0 at level 1).
struct ClusterShape {
  int64_t B, H, N, D, C, M;
  std::string elt; // of the K/V cache
  /// Strides of k and v indexed as [B, H, N, D] (AttnShape::kvStrides; empty:
  /// row-major). The kernels' key and value arguments take this layout.
  std::vector<int64_t> kvStrides = {};
  /// Whether the k-means points are the f32 pre-RoPE scratch (row-major, of
  /// the call) rather than the op's keys (windowed RoPE).
  bool preropePoints = false;
  /// The tensor-core assignment's centroid terms: hi + lo (true) or hi.
  bool kmeansSplit = true;
};

/// The knobs a cluster kernel needs (docs/Algorithm.md).
struct ClusterConfig {
  int64_t sink, interval, blockSize, buildIters, updateIters, kExtra;
  double fraction; // of the level being built
};

} // namespace gpugen
} // namespace multipole
} // namespace mlir

#endif
