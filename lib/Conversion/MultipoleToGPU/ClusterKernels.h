//===- ClusterKernels.h - GPU k-means kernels (builders) --------*- C++ -*-===//
//
// Builders of the cluster kernels (ClusterKernels.cpp): each adds one
// `gpu.func` at the end of `module` and returns it. Shapes and knobs are in
// ClusterShape / ClusterConfig (KernelGen.h); `PE` names the element type of
// the k-means points (the key cache's, or "f32" for the pre-RoPE scratch).
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

/// cluster_build, `@<name>`: k-means of one level-0 block (grid (max blocks,
/// H, B), 256 threads); points are rows of P (element type PE).
gpu::GPUFuncOp buildClusterBlocksKernel(OpBuilder &b, Location loc,
                                        gpu::GPUModuleOp module,
                                        StringRef name, const ClusterShape &s,
                                        const ClusterConfig &c, StringRef PE);

/// The Lloyd passes of a k-means over the grid (grid (chunks, H, B), 256
/// threads), one kernel per step, arguments (scope, points, centroids, ...):
/// `build` over the level-0 blocks of the layout of lens (the scope), else
/// over the current block of an update (the scope: the descriptor blk
/// [B, H, 4] = (first token, points, first cluster, clusters) that
/// `<update>_interval` writes). Norms: a thread per cluster; assign: a thread
/// per point; means: a warp per cluster, iteration `it` (an i32 argument) of
/// c.buildIters / c.updateIters.
gpu::GPUFuncOp buildKMeansNormsKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const ClusterShape &s,
                                      const ClusterConfig &c, StringRef PE,
                                      bool build);
gpu::GPUFuncOp buildKMeansAssignKernel(OpBuilder &b, Location loc,
                                       gpu::GPUModuleOp module, StringRef name,
                                       const ClusterShape &s,
                                       const ClusterConfig &c, StringRef PE,
                                       bool build);
gpu::GPUFuncOp buildKMeansMeansKernel(OpBuilder &b, Location loc,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const ClusterShape &s,
                                      const ClusterConfig &c, StringRef PE,
                                      bool build);

/// Static bounds of an online update (per (sequence, KV head)): points and
/// clusters of the current block after one interval, clusters one update
/// finishes when one interval was due. Grids of the update's kernels.
struct UpdateBounds {
  int64_t maxL, maxCb, maxFinish;
};
UpdateBounds updateBounds(const ClusterShape &s, const ClusterConfig &c);

/// cluster_update (docs/Design.md "GPU k-means: kernels and launches"), per
/// (sequence, KV head) unless said otherwise, 256 threads:
/// `<name>_interval` (grid (H, B)): one due interval's seeds and running
///   means, the state, its entry copy st0 and the block descriptor;
/// `<name>_rest` (grid (H, B)): the intervals still due, each with its Lloyd
///   passes in the CTA;
/// `<name>_offsets` (grid (H, B)): member offsets of the touched clusters;
/// `<name>_members` (grid (chunks, H, B), a warp per touched cluster): value
///   centroids and member lists.
gpu::GPUFuncOp buildUpdateIntervalKernel(OpBuilder &b, Location loc,
                                         gpu::GPUModuleOp module,
                                         StringRef name, const ClusterShape &s,
                                         const ClusterConfig &c, StringRef PE);
gpu::GPUFuncOp buildUpdateRestKernel(OpBuilder &b, Location loc,
                                     gpu::GPUModuleOp module, StringRef name,
                                     const ClusterShape &s,
                                     const ClusterConfig &c, StringRef PE);
gpu::GPUFuncOp buildUpdateOffsetsKernel(OpBuilder &b, Location loc,
                                        gpu::GPUModuleOp module,
                                        StringRef name, const ClusterShape &s,
                                        const ClusterConfig &c);
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
