//===- Passes.h - multipole transformation passes ---------------*- C++ -*-===//
#ifndef MULTIPOLE_DIALECT_MULTIPOLE_TRANSFORMS_PASSES_H
#define MULTIPOLE_DIALECT_MULTIPOLE_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

namespace mlir {
namespace multipole {

#define GEN_PASS_DECL
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"

} // namespace multipole
} // namespace mlir

#endif
