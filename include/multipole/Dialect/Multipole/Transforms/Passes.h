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

/// The value `v` is a view of on tensors: through tensor.collapse_shape /
/// expand_shape and linalg.transpose (the argument a KV cache role belongs to,
/// in the caller's layout).
Value throughViews(Value v);

} // namespace multipole
} // namespace mlir

#endif
