//===- multipole-opt.cpp - opt-style driver for multipole IR --------------===//
//
// MlirOptMain with every upstream dialect and pass, plus the multipole
// dialect, its passes and the `multipole-cpu-pipeline`.
//
//===----------------------------------------------------------------------===//

#include "multipole/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::multipole::registerAllMultipolePasses();
  mlir::DialectRegistry registry;
  mlir::multipole::registerAllMultipoleDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv,
      "multipole-opt: the opt-style driver of the Multipole Attention "
      "compiler.\n\n"
      "  Detect dense decode attention and rewrite it to multipole form:\n"
      "    multipole-opt --multipole-detect-decode-attention "
      "--multipole-rewrite in.mlir\n"
      "  Lower to the LLVM dialect for the CPU:\n"
      "    multipole-opt --multipole-cpu-pipeline in.mlir\n",
      registry));
}
