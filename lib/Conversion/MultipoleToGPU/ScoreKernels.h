//===- ScoreKernels.h - scoring, selection and compaction kernels -*- C++
//-*-===//
//
// The kernels between clustering and the exact part, built with
// KernelBuilder (ScoreKernels.cpp):
//  - centroid_score: `<name>_logits` and `<name>_scores`;
//  - select_clusters: the budgeted radix selection;
//  - compact: the exact part's token list (sink, window, selected members).
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_SCOREKERNELS_H
#define MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_SCOREKERNELS_H

#include "KernelGen.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir {
namespace multipole {
namespace gpugen {

/// Shapes of centroid scoring: queries of `shape`, C clusters per (sequence,
/// KV head) split over `csplits` CTAs for the logits and `ssplits` for the
/// scores; windowed RoPE rotates the query to `scorePos` when theta > 0;
/// `laneFloats` floats of a centroid row per lane.
struct ScoreSpec {
  AttnShape shape;
  int64_t C, csplits, ssplits, scorePos;
  double theta;
  int64_t laneFloats;
  /// The key centroids are stored in bf16 (read as such, extended to f32).
  bool bf16Centroids = false;
};

/// `@<name>`: the logits of one split of the clusters of (sequence, KV head)
/// for its G query heads, and the split's (max, sum n e^x) per head. Grid
/// (csplits, H, B), 128 threads.
gpu::GPUFuncOp buildScoreLogitsKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const ScoreSpec &spec);

/// The same kernel (same arguments, grid and results) on tensor cores:
/// bf16 mma.sync of 16-centroid tiles against the G queries, f32
/// accumulation. It applies where that is exact in the products (bf16
/// queries and bf16 centroids), without windowed RoPE (the rotated query
/// is f32), G <= 8 (one mma column per head) and D a multiple of 32.
bool mmaLogitsApplies(const ScoreSpec &spec);
gpu::GPUFuncOp buildScoreLogitsMmaKernel(OpBuilder &b, Location loc,
                                         gpu::GPUModuleOp module,
                                         StringRef name,
                                         const ScoreSpec &spec);

/// `@<name>`: r_c = sum over heads of e^(x - M) / Z, from the logits and the
/// split pairs; -1 for empty or absent clusters (whose logits become -inf).
/// Grid (ssplits, H, B), 256 threads.
gpu::GPUFuncOp buildScoreScoresKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const ScoreSpec &spec);

/// Budgeted selection of C clusters per (sequence, KV head): the budget is
/// `budgetTokens` (>= 0) or floor(budgetFrac * live tokens). With a parent
/// level (Cparent coarse clusters) only children of selected parents are
/// eligible. With `chunkBases` it also writes the exclusive prefix of
/// selected tokens per chunk of selectChunk(C, nch) clusters.
struct SelectSpec {
  int64_t B, H, C, budgetTokens;
  double budgetFrac;
  bool hasParent;
  int64_t Cparent;
  bool chunkBases;
  int64_t nch;
  /// Scores computed here (multipole.scores_in_select): G query heads per
  /// KV head and the logits kernel's splits; 0 when r is given.
  int64_t fusedG = 0, csplits = 0;
};

/// `@<name>`: grid (H, B), 1024 threads. Arguments (r, counts, state,
/// [parent assignments, parent mask], [chunk bases], mask, [logits [B, H G,
/// C], split pairs [B, H G, csplits, 2]]): with the logits and pairs the
/// kernel first writes r itself (the scores kernel's arithmetic).
gpu::GPUFuncOp buildSelectKernel(OpBuilder &b, Location loc,
                                 gpu::GPUModuleOp module, StringRef name,
                                 const SelectSpec &spec);

/// The token list of the exact part: B sequences, H KV heads, N tokens, C
/// clusters, `sink` leading tokens, `nch` chunks (chunked kernel only).
struct CompactSpec {
  int64_t B, H, N, C, sink, nch;
};

/// `@<name>`: from the selection's chunk bases; grid (nch / 4, H, B), 128
/// threads, a warp per chunk.
gpu::GPUFuncOp buildCompactChunksKernel(OpBuilder &b, Location loc,
                                        gpu::GPUModuleOp module, StringRef name,
                                        const CompactSpec &spec);

/// `@<name>`: one CTA per (sequence, KV head) scanning the selection itself;
/// grid (H, B), 512 threads.
gpu::GPUFuncOp buildCompactKernel(OpBuilder &b, Location loc,
                                  gpu::GPUModuleOp module, StringRef name,
                                  const CompactSpec &spec);

} // namespace gpugen
} // namespace multipole
} // namespace mlir

#endif
