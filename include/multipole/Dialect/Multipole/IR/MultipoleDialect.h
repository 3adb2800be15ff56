//===- MultipoleDialect.h - multipole dialect -------------------*- C++ -*-===//
#ifndef MULTIPOLE_DIALECT_MULTIPOLE_IR_MULTIPOLEDIALECT_H
#define MULTIPOLE_DIALECT_MULTIPOLE_IR_MULTIPOLEDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "multipole/Dialect/Multipole/IR/MultipoleOpsDialect.h.inc"

#endif
