//===- Passes.td - multipole conversion passes ------------*- tablegen -*-===//
#ifndef MULTIPOLE_CONVERSION_PASSES_TD
#define MULTIPOLE_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMultipoleToLoops : Pass<"convert-multipole-to-loops", "ModuleOp"> {
  let summary = "Lower bufferized multipole ops to scf loops over memrefs";
  let description = [{
    Replaces every multipole op on memrefs by a call to a kernel function
    specialised for its element type (bf16/f16/f32) and rank layout. The
    kernels are written in MLIR (scf + memref + arith + math) and kept in
    `lib/Conversion/MultipoleToLoops/kernels/`; they are parsed, specialised and
    inserted into the module as private functions, once per element type, so
    the result only contains upstream dialects and lowers to LLVM with the
    standard passes. Operands are cast to fully dynamic strided memrefs.
    Ops still on tensors are an error: bufferize first.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

#endif
