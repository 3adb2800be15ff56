//===- StreamEntryPoints.h - caller's-stream wrappers -----------*- C++ -*-===//
//
// CUDA libraries export, next to MLIR's `_mlir_ciface_<f>`, one wrapper per
// entry point that runs it on a stream the caller gives (docs/ABI.md,
// version 2):
//
//   int32_t mpentry_<f>(void *stream, Desc *arg0, Desc *arg1, ...) {
//     int32_t rc = mpCallBegin(stream);
//     // (mpCallBeginFlags(stream, MP_CALL_PROGRAMMATIC_LAUNCH) when the
//     // kernels were made ready for programmatic dependent launch)
//     if (rc != 0) return rc;
//     _mlir_ciface_<f>(arg0, arg1, ...);
//     return mpCallEnd();
//   }
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_DRIVER_STREAMENTRYPOINTS_H
#define MULTIPOLE_DRIVER_STREAMENTRYPOINTS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace llvm {
class Module;
} // namespace llvm

namespace mlir {
namespace multipole {

/// Prefix of the wrappers' symbols.
inline constexpr llvm::StringLiteral kStreamEntryPrefix = "mpentry_";

/// Adds the wrapper of every entry of `manifest` (its "entries" array, each
/// with "name" and "symbol") to `module`, and records each wrapper's symbol
/// as the entry's "stream_symbol". Fails when an entry's C interface
/// function is missing from `module`. With `programmaticLaunch` the wrappers
/// open their calls with mpCallBeginFlags(stream, MP_CALL_PROGRAMMATIC_LAUNCH)
/// (the kernels start with griddepcontrol wait: see
/// multipole-gpu-programmatic-launch), and the manifest records
/// "programmatic_launch": true.
llvm::Error addStreamEntryPoints(llvm::Module &module,
                                 llvm::json::Object &manifest,
                                 bool programmaticLaunch = false);

} // namespace multipole
} // namespace mlir

#endif
