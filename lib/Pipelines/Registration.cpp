//===- Registration.cpp - dialects, passes and pipelines of the tools -----===//
#include "multipole/Conversion/Passes.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"
#include "multipole/Dialect/Multipole/Transforms/Passes.h"
#include "multipole/Pipelines/Pipelines.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

using namespace mlir;

void mlir::multipole::registerAllMultipoleDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<MultipoleDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

void mlir::multipole::registerAllMultipolePasses() {
  registerAllPasses();
  registerMultipolePasses();
  registerMultipoleConversionPasses();
  registerMultipolePipelines();
}
