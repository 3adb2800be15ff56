//===- Registration.cpp - dialects, passes and pipelines of the tools -----===//
#include "multipole/Conversion/Passes.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"
#include "multipole/Dialect/Multipole/Transforms/Passes.h"
#include "multipole/Pipelines/Pipelines.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

using namespace mlir;

void mlir::multipole::registerAllMultipoleDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<MultipoleDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
  // LLVM IR translations (host, GPU, NVVM) and the NVVM target, which
  // gpu-module-to-binary needs (without it the pipeline crashes).
  registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

void mlir::multipole::registerAllMultipolePasses() {
  registerAllPasses();
  registerMultipolePasses();
  registerMultipoleConversionPasses();
  registerMultipolePipelines();
}
