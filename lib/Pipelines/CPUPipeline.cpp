//===- CPUPipeline.cpp - multipole-cpu-pipeline ---------------------------===//
//
// Bufferize, lower multipole ops to loop kernels and everything to the LLVM
// dialect. Written as a textual pipeline of upstream passes so that
// `multipole-opt --dump-pass-pipeline` shows exactly what runs.
//
//===----------------------------------------------------------------------===//

#include "multipole/Conversion/Passes.h"
#include "multipole/Pipelines/Pipelines.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

const char *mlir::multipole::kBufferizePipeline =
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "drop-equivalent-buffer-results,multipole-drop-aliasing-results,"
    "multipole-distinct-results,multipole-transpose-views";

const char *mlir::multipole::kLowerToLLVMPipeline =
    "buffer-results-to-out-params{hoist-static-allocs modify-public-functions},"
    "buffer-deallocation-pipeline,"
    "convert-multipole-to-loops,"
    "symbol-dce,"
    "func.func(convert-linalg-to-loops),"
    "expand-strided-metadata,"
    "lower-affine,"
    "arith-expand{include-bf16},"
    "convert-scf-to-cf,"
    "finalize-memref-to-llvm,"
    "convert-math-to-llvm,"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-cf-to-llvm,"
    "convert-func-to-llvm,"
    "reconcile-unrealized-casts";

LogicalResult mlir::multipole::buildCPUPipeline(OpPassManager &pm,
                                                llvm::raw_ostream &errs) {
  std::string p = std::string(kBufferizePipeline) + "," + kLowerToLLVMPipeline;
  return parsePassPipeline(p, pm, errs);
}

void mlir::multipole::registerMultipolePipelines() {
  PassPipelineRegistration<>(
      "multipole-cpu-pipeline",
      "Bufferize and lower multipole IR (and everything around it) to the "
      "LLVM dialect for the CPU",
      [](OpPassManager &pm) {
        if (failed(buildCPUPipeline(pm, llvm::errs())))
          llvm::report_fatal_error("multipole-cpu-pipeline does not parse");
      });
  registerCUDAPipeline();
}
