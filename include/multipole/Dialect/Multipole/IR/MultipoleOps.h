//===- MultipoleOps.h - multipole operations --------------------*- C++ -*-===//
#ifndef MULTIPOLE_DIALECT_MULTIPOLE_IR_MULTIPOLEOPS_H
#define MULTIPOLE_DIALECT_MULTIPOLE_IR_MULTIPOLEOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "multipole/Dialect/Multipole/IR/MultipoleDialect.h"

namespace mlir {
class AsmParser;
class AsmPrinter;
namespace multipole {
FailureOr<llvm::APFloat> parseF64Param(AsmParser &parser);
FailureOr<std::optional<llvm::APFloat>> parseOptF64Param(AsmParser &parser);
void printF64Param(AsmPrinter &printer, const llvm::APFloat &v);

inline bool optF64Equal(const std::optional<llvm::APFloat> &a,
                        const std::optional<llvm::APFloat> &b) {
  if (a.has_value() != b.has_value())
    return false;
  return !a || a->bitwiseIsEqual(*b);
}
} // namespace multipole
} // namespace mlir

#define GET_ATTRDEF_CLASSES
#include "multipole/Dialect/Multipole/IR/MultipoleAttrs.h.inc"

namespace mlir {
namespace multipole {
FailureOr<llvm::SmallVector<LevelAttr>> parseLevels(AsmParser &parser);
void printLevels(AsmPrinter &printer, llvm::ArrayRef<LevelAttr> levels);
} // namespace multipole
} // namespace mlir

#define GET_OP_CLASSES
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h.inc"

namespace mlir {
namespace multipole {

/// Number of arrays in one level of the cluster index, and their order.
enum IndexArray : unsigned {
  kCentroids = 0,
  kVCentroids = 1,
  kCounts = 2,
  kOffsets = 3,
  kMembers = 4,
  kAssign = 5,
  kState = 6,
  kNumIndexArrays = 7
};

/// Name of each index array (as used in entry-point roles and docs).
llvm::StringRef indexArrayName(unsigned i);

/// Registers the external bufferization models of the multipole ops.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);

/// Default configuration (docs/Algorithm.md).
ConfigAttr getDefaultConfig(MLIRContext *ctx);

} // namespace multipole
} // namespace mlir

#endif
