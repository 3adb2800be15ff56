//===- KernelGen.h - MLIR-text GPU kernel generators ------------*- C++ -*-===//
//
// The GPU kernels of the multipole ops are written as MLIR text (gpu, vector,
// arith, math, memref, scf) specialised to static shapes: every dimension is a
// constant, so index arithmetic folds and loads are 16-byte vectors. Each
// generator returns the text of one or more `gpu.func`s (without the
// enclosing gpu.module); the pass parses them into the module.
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_KERNELGEN_H
#define MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_KERNELGEN_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mlir {
namespace multipole {
namespace gpugen {

/// Replaces `$NAME` tokens (longest names first) with their values.
std::string subst(llvm::StringRef text,
                  const std::map<std::string, std::string> &vars);

/// MLIR text computing `%pe<sfx>` (i1): the parent of item `idx` (an index
/// value into the fine level, `dim` its extent, e.g. "$N") exists and is
/// selected in the coarse mask `%ps` (extent $CP). Reads `%pa`; needs `%b`,
/// `%h`, `%c0i`, `%c0i8`.
std::string parentSelectedText(const std::string &sfx, const std::string &idx,
                               const std::string &dim);

/// Shapes of an attention problem.
struct AttnShape {
  int64_t B, Hq, H, N, D;
  std::string elt; // bf16 | f16 | f32
  /// Elements of a row per lane; 0 = one 16-byte load.
  int64_t perLane = 0;
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

/// Whether the vectorised attention kernels apply (D * elt bytes a multiple of
/// 16, lanes per row a power of two dividing 32).
bool attnShapeSupported(const AttnShape &s, std::string &why);

/// `@<name>`: split-KV attention of one (split, KV head, sequence) over
/// [0, lens[b]) or, with `sparse`, over sink + window + members of the
/// selected clusters; writes per-split partials (acc [B,Hq,S,D], m, l).
std::string attentionSplitKernel(llvm::StringRef name, const AttnShape &s,
                                 const AttnLaunch &l, bool sparse, bool hasLens);

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

/// Scoring: `@<name>_logits` (split over clusters: logits, per-split max and
/// sum of n exp) and `@<name>_scores` (per (b, h): r_c).
std::string scoreKernels(llvm::StringRef name, const AttnShape &s, int64_t C,
                         int64_t csplits, int64_t ssplits, int64_t scorePos,
                         double theta, int64_t laneFloats);

/// Chunks of consecutive clusters per (sequence, KV head) the selection
/// kernel sums (one per thread, at most 1024): fewer, larger chunks at large
/// batch so that the compaction launches fewer CTAs.
int64_t selectChunks(int64_t B, int64_t H);
/// Clusters per chunk.
int64_t selectChunk(int64_t C, int64_t nch);

/// Budgeted selection: one CTA per (sequence, KV head), radix threshold.
/// With `chunkBases` it also writes, per chunk of selectChunk(C) clusters,
/// the exclusive prefix of selected tokens ([B, H, 1025] i32, last = total).
std::string selectKernel(llvm::StringRef name, int64_t B, int64_t H,
                         int64_t C, int64_t budgetTokens, double budgetFrac,
                         bool hasParent, int64_t Cparent,
                         bool chunkBases = false, int64_t nch = 1024);

/// Token list of the exact part from the selection's chunk bases: grid
/// (nch / 4, H, B) x 128 threads, a warp per chunk (block 0 also writes sink
/// and window tokens and the count).
std::string compactChunksKernel(llvm::StringRef name, int64_t B, int64_t H,
                                int64_t N, int64_t C, int64_t sink,
                                int64_t nch);

/// Floats of a value-centroid row per lane in the approximation kernel (0 =
/// one 16-byte load).
int64_t approxFloatsPerLane(const AttnShape &s);

/// Centroid approximation split over clusters: per-split partials, same
/// layout as attentionSplitKernel (rows are f32 value centroids, logits come
/// from centroid_score, weights are the token counts).
std::string approxSplitKernel(llvm::StringRef name, const AttnShape &s,
                              int64_t C, int64_t csplits, int64_t threads,
                              bool hasParent, int64_t Cparent,
                              int64_t laneFloats);

/// MLIR text merging the NG partials (m, l, acc) of a CTA's groups or warps,
/// held in workgroup memory `%sm`, `%sl` ([$NGG]: group r, head g at
/// r * G + g) and `%sacc` ([$NGGD], row-major by D), into this split's
/// partials `%pacc`, `%pm`, `%pl`. Needs %tid, %h, %b, %split, %c0, %c1,
/// %cNG, %cG, %cD, %cGD, %cT, %zf, %ninf.
std::string splitPartialCombineText();

enum class SplitMode { Dense, Sparse, Approx };

/// MLIR text: this CTA's contiguous slice [%lo, %hi) (%len) of the (b, h)
/// token sequence (dense: lens[b]; sparse: the token list's count; approx:
/// the cluster count). Needs %b, %h, %split, %c0, %cN, %cS.
std::string splitRangeText(SplitMode mode, bool hasLens);
std::string attentionSplitKernelImpl(llvm::StringRef name, const AttnShape &s,
                                     const AttnLaunch &l, SplitMode mode,
                                     bool hasLens, bool hasParent,
                                     int64_t Cparent);

/// Token list of the exact part: sink, window, then the members of the
/// selected clusters (one CTA per (sequence, KV head)).
std::string compactKernel(llvm::StringRef name, int64_t B, int64_t H,
                          int64_t N, int64_t C, int64_t sink);

/// Whether the tensor-core attention kernel applies (bf16, D 64 or 128,
/// G <= 8).
bool mmaAttentionSupported(const AttnShape &s);
/// Its dynamic shared memory (bytes): the cp.async stages.
int64_t mmaAttentionSmemBytes(const AttnShape &s);
/// Threads per CTA of the tensor-core kernel.
constexpr int64_t kMmaThreads = 128;
/// `@<name>`: split-KV attention on tensor cores (mma.sync bf16, cp.async
/// pipeline); same arguments and partials as attentionSplitKernel.
std::string mmaAttentionSplitKernel(llvm::StringRef name, const AttnShape &s,
                                    int64_t splits, bool sparse, bool hasLens);

/// Shapes of a cluster op: B, H, N cached tokens, D, C the level's capacity,
/// M the rows of its members/assign arrays (N at level 0, C0 at level 1).
struct ClusterShape {
  int64_t B, H, N, D, C, M;
  std::string elt; // of the K/V cache
};

/// The knobs a cluster kernel needs (docs/Algorithm.md).
struct ClusterConfig {
  int64_t sink, interval, blockSize, buildIters, updateIters, kExtra;
  double fraction; // of the level being built
};

/// MLIR text: `%<dst>` = max(1, floor(f * L)) with f in `%cFRAC` (f64).
std::string clustersText(const std::string &dst, const std::string &L);

/// `@<name>`: pre-RoPE keys rot(k[j], -j) into an f32 scratch [B,H,N,D]
/// (grid (ceil(N/16), H, B), 256 threads).
std::string preropeKernel(llvm::StringRef name, const ClusterShape &s,
                          double theta);

/// cluster_build: `@<name>_init` (grid (H, B)) and `@<name>_blocks` (grid
/// (max blocks, H, B)), 256 threads; points are rows of P (element type PE:
/// the keys, or the pre-RoPE scratch).
std::string clusterBuildKernels(llvm::StringRef name, const ClusterShape &s,
                                const ClusterConfig &c, const std::string &PE);

/// cluster_update: `@<name>`, grid (H, B), 256 threads.
std::string clusterUpdateKernel(llvm::StringRef name, const ClusterShape &s,
                                const ClusterConfig &c, const std::string &PE);

/// cluster_coarsen: `@<name>`, grid (H, B), 256 threads (s.C: coarse
/// capacity, s.M: fine capacity).
std::string clusterCoarsenKernel(llvm::StringRef name, const ClusterShape &s,
                                 const ClusterConfig &c);

} // namespace gpugen
} // namespace multipole
} // namespace mlir

#endif
