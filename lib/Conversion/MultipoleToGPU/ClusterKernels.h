//===- ClusterKernels.h - GPU k-means kernels (builders) --------*- C++ -*-===//
//
// Builders of the cluster kernels (ClusterKernels.cpp): each adds one
// `gpu.func` at the end of `module` and returns it. Shapes and knobs are in
// ClusterShape / ClusterConfig (KernelGen.h); `PE` names the element type of
// the k-means points (the key cache's, or "f32" for the pre-RoPE scratch).
// Keys and values are taken in the cache's layout (ClusterShape::kvStrides:
// a [B, N, H, D] cache is read in place); the points are strided when they
// are the op's keys, row-major when they are the pre-RoPE scratch
// (ClusterShape::preropePoints).
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_CLUSTERKERNELS_H
#define MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_CLUSTERKERNELS_H

#include "KernelGen.h"

namespace mlir {
namespace multipole {
namespace gpugen {

/// `@<name>`: pre-RoPE keys rot(k[j], -j) into an f32 scratch [B,H,N,D]
/// (grid (ceil(N/16), H, B), 256 threads).
gpu::GPUFuncOp buildPreropeKernel(OpBuilder &b, Location loc,
                                  gpu::GPUModuleOp module, StringRef name,
                                  const ClusterShape &s, double theta);

/// cluster_build, `@<name>`: resets the level and writes the state of one
/// (sequence, KV head) (grid (H, B), 256 threads).
gpu::GPUFuncOp buildClusterInitKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const ClusterShape &s,
                                      const ClusterConfig &c);

/// The k-means kernels over the grid (docs/Design.md "GPU k-means: kernels
/// and launches"): grid (chunks, H, B), 256 threads, an item (cluster or
/// point) per thread or warp; arguments (scope, points, centroids, ...), the
/// scope being lens for a build (the level-0 blocks of its layout) and the
/// block descriptor blk [B, H, 4] = (first token, points, first cluster,
/// clusters) for an update (the current block, which `<update>_interval`
/// writes). `build` picks the scope, c.buildIters / c.updateIters the last
/// iteration.
///
/// Lloyd passes: assign (a thread per point) and means (a warp per cluster,
/// iteration `it` an i32 argument; also |mu|^2 for the next iteration).
gpu::GPUFuncOp buildKMeansAssignKernel(OpBuilder &b, Location loc,
                                       gpu::GPUModuleOp module, StringRef name,
                                       const ClusterShape &s,
                                       const ClusterConfig &c, StringRef PE,
                                       bool build);
/// Between them, sort (a CTA per block: a stable counting sort of the
/// block's points by cluster into sidx [B, H, N] from the block's first
/// point, each cluster's first position and count into sbeg, scnt [B, H,
/// C]); means sums each cluster's members from those lists in point order.
/// Whether the Lloyd passes sort (the histograms fit shared memory; else
/// means finds each cluster's members by ballots over the block's points and
/// takes asg instead of the three lists).
bool sortedMeans(const ClusterShape &s, const ClusterConfig &c);
gpu::GPUFuncOp buildKMeansSortKernel(OpBuilder &b, Location loc,
                                     gpu::GPUModuleOp module, StringRef name,
                                     const ClusterShape &s,
                                     const ClusterConfig &c, bool build);
gpu::GPUFuncOp buildKMeansMeansKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const ClusterShape &s,
                                      const ClusterConfig &c, StringRef PE,
                                      bool build);
/// cluster_build: the seeds and their |mu|^2 (a thread per cluster), and the
/// finish (a warp per cluster: member offset, value centroid, members).
gpu::GPUFuncOp buildClusterSeedKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const ClusterShape &s,
                                      const ClusterConfig &c, StringRef PE);
gpu::GPUFuncOp buildClusterMembersKernel(OpBuilder &b, Location loc,
                                         gpu::GPUModuleOp module,
                                         StringRef name, const ClusterShape &s,
                                         const ClusterConfig &c);

/// Static bounds of an online update (per (sequence, KV head)): points and
/// clusters of the current block after one interval, clusters one update
/// finishes when one interval was due. Grids of the update's kernels.
struct UpdateBounds {
  int64_t maxL, maxCb, maxFinish;
};
UpdateBounds updateBounds(const ClusterShape &s, const ClusterConfig &c);

/// Whether the update's interval is tracked (`<name>_idist` then
/// `<name>_interval` with a thread per token of the interval: interval <= 256
/// tokens, D <= 128, the row in registers), and the tokens per CTA of
/// `<name>_idist`.
bool trackedInterval(const ClusterShape &s, const ClusterConfig &c);
int64_t intervalDistTokens(const ClusterShape &s, const ClusterConfig &c);
/// Chunks of 256 clusters of `<name>_idist` (a CTA per token chunk and
/// cluster chunk): ceil(maxCb / 256).
int64_t intervalClusterChunks(const ClusterShape &s, const ClusterConfig &c);

/// cluster_update, per (sequence, KV head), 256 threads:
/// `<name>_idist` (grid (ceil(I / intervalDistTokens) x
///   intervalClusterChunks, H, B); tracked only): the due interval's tokens'
///   distances to the clusters of its block after seeding into dist [B, H,
///   I, maxCb], each token's nearest (distance, local id) of each cluster
///   chunk into bestd, besti [B, H, I, chunks];
/// `<name>_interval` (grid (H, B)): one due interval's seeds and running
///   means, |mu|^2 of its block, the state, its entry copy st0 and the block
///   descriptor (tracked: (..., norms, dist, bestd, besti));
/// `<name>_rest` (grid (H, B)): the intervals still due, each with its Lloyd
///   passes in the CTA;
/// `<name>_members` (grid (chunks, H, B), a warp per touched cluster): member
///   offsets, value centroids and member lists.
gpu::GPUFuncOp buildUpdateIntervalKernel(OpBuilder &b, Location loc,
                                         gpu::GPUModuleOp module,
                                         StringRef name, const ClusterShape &s,
                                         const ClusterConfig &c, StringRef PE);
gpu::GPUFuncOp buildUpdateDistancesKernel(OpBuilder &b, Location loc,
                                          gpu::GPUModuleOp module,
                                          StringRef name,
                                          const ClusterShape &s,
                                          const ClusterConfig &c,
                                          StringRef PE);
gpu::GPUFuncOp buildUpdateRestKernel(OpBuilder &b, Location loc,
                                     gpu::GPUModuleOp module, StringRef name,
                                     const ClusterShape &s,
                                     const ClusterConfig &c, StringRef PE);
gpu::GPUFuncOp buildUpdateMembersKernel(OpBuilder &b, Location loc,
                                        gpu::GPUModuleOp module,
                                        StringRef name, const ClusterShape &s,
                                        const ClusterConfig &c);

/// cluster_coarsen, `@<name>`: weighted k-means over the fine clusters of one
/// (sequence, KV head) (grid (H, B), 256 threads; s.C: coarse capacity, s.M:
/// fine capacity).
gpu::GPUFuncOp buildClusterCoarsenKernel(OpBuilder &b, Location loc,
                                         gpu::GPUModuleOp module,
                                         StringRef name, const ClusterShape &s,
                                         const ClusterConfig &c);

} // namespace gpugen
} // namespace multipole
} // namespace mlir

#endif
