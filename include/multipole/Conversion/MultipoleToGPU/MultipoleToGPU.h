//===- MultipoleToGPU.h - multipole ops -> GPU patterns ---------*- C++ -*-===//
//
// The conversion patterns of convert-multipole-to-gpu: one per op family
// (lib/Conversion/MultipoleToGPU/*Lowering.cpp), each replacing a bufferized
// multipole op by launches of kernels it builds into the kernel module.
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_CONVERSION_MULTIPOLETOGPU_MULTIPOLETOGPU_H
#define MULTIPOLE_CONVERSION_MULTIPOLETOGPU_MULTIPOLETOGPU_H

namespace mlir {
class RewritePatternSet;
namespace multipole {
namespace gpugen {
/// What the patterns share (lib/Conversion/MultipoleToGPU/Lowering.h): the
/// kernel module, the kernel name counter and the GPU knobs.
struct LoweringContext;
} // namespace gpugen

/// Adds the patterns lowering decode_attention, cluster_build /
/// cluster_update / cluster_coarsen, centroid_score, select_clusters,
/// sparse_attention, centroid_approx and merge to `patterns`. They hold
/// `context` by reference: it must outlive the conversion.
void populateMultipoleToGPUConversionPatterns(
    RewritePatternSet &patterns, gpugen::LoweringContext &context);

} // namespace multipole
} // namespace mlir

#endif
