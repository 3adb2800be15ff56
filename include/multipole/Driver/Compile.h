//===- Compile.h - IR file -> shared library -------------------*- C++ -*-===//
#ifndef MULTIPOLE_DRIVER_COMPILE_H
#define MULTIPOLE_DRIVER_COMPILE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

#include <string>

namespace mlir {
namespace multipole {

struct CompileOptions {
  /// "cpu" or "cuda".
  std::string target = "cpu";
  /// CUDA: GPU architecture of the cubin.
  std::string chip = "sm_90a";
  /// CUDA: options of --convert-multipole-to-gpu, e.g. "splits=64 threads=128".
  std::string gpuOptions;
  /// CUDA: embed PTX instead of a cubin (also chosen when ptxas is missing).
  bool ptx = false;
  /// Run --multipole-detect-decode-attention first.
  bool detect = true;
  /// Run --multipole-rewrite (off: compile dense decode_attention as is).
  bool rewrite = true;
  /// Options of --multipole-rewrite, e.g. "budget-fraction=0.1 sink=16".
  std::string rewriteOptions;
  /// LLVM optimisation level (0-3).
  unsigned optLevel = 2;
  /// Target CPU for the object code ("x86-64" is portable; "native" = host).
  std::string cpu = "x86-64";
  /// Print each stage's name and time to the log.
  bool verbose = false;
  /// Write the LLVM-dialect module and the LLVM IR next to the output.
  bool keepIntermediates = false;
  /// The manifest's "model" object (multipole-compile --model; ModelConfig.h).
  std::optional<llvm::json::Object> model;
};

/// Runs the whole pipeline on `module` and writes a shared library to
/// `outPath`. The library exports `_mlir_ciface_<f>` for every public function
/// and `__multipole_manifest`, a JSON description of those entry points
/// (docs/ABI.md). Diagnostics go to the module's context; progress and
/// linker output to `log`.
LogicalResult compileToSharedLibrary(ModuleOp module, const CompileOptions &opts,
                                     llvm::StringRef outPath,
                                     llvm::raw_ostream &log);

} // namespace multipole
} // namespace mlir

#endif
