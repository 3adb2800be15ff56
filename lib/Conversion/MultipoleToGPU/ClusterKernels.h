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

/// cluster_update, `@<name>`: online update of one (sequence, KV head)
/// (grid (H, B), 256 threads).
gpu::GPUFuncOp buildClusterUpdateKernel(OpBuilder &b, Location loc,
                                        gpu::GPUModuleOp module,
                                        StringRef name, const ClusterShape &s,
                                        const ClusterConfig &c, StringRef PE);

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
