//===- Passes.h - multipole conversion passes -------------------*- C++ -*-===//
#ifndef MULTIPOLE_CONVERSION_PASSES_H
#define MULTIPOLE_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace multipole {

/// Unit attribute that multipole-gpu-programmatic-launch puts on the module:
/// its kernels start with griddepcontrol wait, so the
/// compile driver's entry points may ask for programmatic dependent launch.
constexpr llvm::StringLiteral kProgrammaticLaunchAttrName =
    "multipole.programmatic_launch";

#define GEN_PASS_DECL
#include "multipole/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "multipole/Conversion/Passes.h.inc"

} // namespace multipole
} // namespace mlir

#endif
