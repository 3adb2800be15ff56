//===- CUDAPipeline.cpp - multipole-cuda-pipeline -------------------------===//
//
// Bufferize, lower multipole ops to GPU kernels and launches, and lower the
// kernels through upstream's gpu-lower-to-nvvm-pipeline to a cubin (or PTX)
// embedded in the module, their warp reductions (gpu.subgroup_reduce) to
// shuffles first (multipole-lower-subgroup-reduce). multipole-compile
// --target=cuda runs the same passes (bufferization and lowering separately,
// with the entry-point manifest read in between).
//
//===----------------------------------------------------------------------===//

#include "multipole/Pipelines/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::multipole;

std::string mlir::multipole::cudaLoweringPipeline(const CUDAPipelineOptions &o) {
  std::string p = "buffer-results-to-out-params{hoist-static-allocs "
                  "modify-public-functions},buffer-deallocation-pipeline,"
                  "multipole-gpu-plan{" + o.gpuOptions +
                  "},convert-multipole-to-gpu{" + o.gpuOptions +
                  "},multipole-gpu-programmatic-launch{" + o.gpuOptions + "}";
  if (!o.toNVVM)
    return p;
  return p + ",convert-multipole-to-loops,symbol-dce,func.func(gpu-async-region),"
             "multipole-lower-subgroup-reduce,"
             "gpu-lower-to-nvvm-pipeline{cubin-chip=" +
         o.chip + " cubin-features=+ptx80 opt-level=3 "
                  "kernel-bare-ptr-calling-convention=true cubin-format=" +
         o.format + "}";
}

LogicalResult mlir::multipole::buildCUDAPipeline(OpPassManager &pm,
                                                 const CUDAPipelineOptions &o,
                                                 llvm::raw_ostream &errs) {
  if (o.format != "bin" && o.format != "isa")
    return (errs << "multipole-cuda-pipeline: format must be 'bin' (cubin) or "
                    "'isa' (PTX), got '"
                 << o.format << "'\n"),
           failure();
  return parsePassPipeline(std::string(kBufferizePipeline) + "," +
                               cudaLoweringPipeline(o),
                           pm, errs);
}

void mlir::multipole::registerCUDAPipeline() {
  // registerPassPipeline rather than PassPipelineRegistration: bad options
  // (e.g. an empty value inside gpu-options) are reported as errors instead
  // of aborting.
  registerPassPipeline(
      "multipole-cuda-pipeline",
      "Bufferize multipole IR, lower its ops to GPU kernels and launches "
      "(convert-multipole-to-gpu) and the kernels to NVVM and a cubin "
      "(gpu-lower-to-nvvm-pipeline)",
      [](OpPassManager &pm, StringRef optionsStr,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        CUDAPipelineOptions o;
        if (failed(o.parseFromString(optionsStr)))
          return failure();
        std::string err;
        llvm::raw_string_ostream os(err);
        if (failed(buildCUDAPipeline(pm, o, os)))
          return errorHandler(StringRef(err).trim());
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optHandler) {
        optHandler(CUDAPipelineOptions());
      });
}
