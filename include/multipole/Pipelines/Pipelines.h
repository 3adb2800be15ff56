//===- Pipelines.h - multipole pass pipelines -------------------*- C++ -*-===//
#ifndef MULTIPOLE_PIPELINES_PIPELINES_H
#define MULTIPOLE_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

namespace mlir {
namespace multipole {

/// Textual pipelines (module level, comma separated).
extern const char *kBufferizePipeline;
extern const char *kLowerToLLVMPipeline;

/// Bufferization + lowering to the LLVM dialect for the CPU.
LogicalResult buildCPUPipeline(OpPassManager &pm, llvm::raw_ostream &errs);

/// Registers `multipole-cpu-pipeline`.
void registerMultipolePipelines();

/// Registers every pass of the project.
void registerAllMultipolePasses();

/// Registers the dialects, interfaces and extensions the tools need
/// (upstream ones included).
void registerAllMultipoleDialects(DialectRegistry &registry);

} // namespace multipole
} // namespace mlir

#endif
