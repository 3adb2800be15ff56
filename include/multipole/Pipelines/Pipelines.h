//===- Pipelines.h - multipole pass pipelines -------------------*- C++ -*-===//
#ifndef MULTIPOLE_PIPELINES_PIPELINES_H
#define MULTIPOLE_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir {
namespace multipole {

/// Textual pipelines (module level, comma separated).
extern const char *kBufferizePipeline;
extern const char *kLowerToLLVMPipeline;

/// Bufferization + lowering to the LLVM dialect for the CPU.
LogicalResult buildCPUPipeline(OpPassManager &pm, llvm::raw_ostream &errs);

/// Options of `multipole-cuda-pipeline` (and of multipole-compile
/// --target=cuda).
struct CUDAPipelineOptions : public PassPipelineOptions<CUDAPipelineOptions> {
  Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("GPU architecture of the cubin (default sm_90a)"),
      llvm::cl::init("sm_90a")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc(
          "what the module embeds: 'bin' (a cubin, needs ptxas) "
          "or 'isa' (PTX text, compiled by the driver at load) (default bin)"),
      llvm::cl::init("bin")};
  Option<std::string> gpuOptions{
      *this, "gpu-options",
      llvm::cl::desc(
          "options of convert-multipole-to-gpu, e.g. "
          "\"splits=64 mma=false\" (default empty: the pass's own defaults)"),
      llvm::cl::init("")};
  Option<bool> toNVVM{
      *this, "to-nvvm",
      llvm::cl::desc(
          "lower the kernels to NVVM and a binary; false stops "
          "after convert-multipole-to-gpu (to read the GPU IR) (default true)"),
      llvm::cl::init(true)};
};

/// The CUDA lowering after bufferization (a textual pipeline).
std::string cudaLoweringPipeline(const CUDAPipelineOptions &options);

/// Bufferization + the CUDA lowering; errors (bad options) go to `errs`.
LogicalResult buildCUDAPipeline(OpPassManager &pm,
                                const CUDAPipelineOptions &options,
                                llvm::raw_ostream &errs);

/// Registers `multipole-cuda-pipeline`.
void registerCUDAPipeline();

/// Registers `multipole-cpu-pipeline` and `multipole-cuda-pipeline`.
void registerMultipolePipelines();

/// Registers every pass of the project.
void registerAllMultipolePasses();

/// Registers the dialects, interfaces and extensions the tools need
/// (upstream ones included).
void registerAllMultipoleDialects(DialectRegistry &registry);

} // namespace multipole
} // namespace mlir

#endif
