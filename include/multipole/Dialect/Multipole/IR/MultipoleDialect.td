//===- MultipoleDialect.td - multipole dialect definition --*- tablegen -*-===//
#ifndef MULTIPOLE_DIALECT_TD
#define MULTIPOLE_DIALECT_TD

include "mlir/IR/OpBase.td"

def Multipole_Dialect : Dialect {
  let name = "multipole";
  let summary = "Clustered (multipole) decode attention for long-context LLMs";
  let description = [{
    The `multipole` dialect expresses decode attention (one query token per
    sequence) over a KV cache, both densely (`multipole.decode_attention`) and
    in clustered "multipole" form: keys are grouped into clusters; the clusters
    that matter most for the query get exact attention over their tokens and the
    others are approximated by their key/value centroids weighted by their size.

    The cluster index (centroids, value centroids, counts, member lists,
    assignments and a small state vector per level) is ordinary tensor/memref
    data in the IR; its layout is a documented ABI (docs/ABI.md).

    All ops are in destination-passing style: on tensors they return the
    updated `outs` operands, on memrefs they write them in place. The algorithm
    they compute is specified in docs/Algorithm.md.
  }];
  let cppNamespace = "::mlir::multipole";
  // Attributes the rewrite and the compile driver attach to functions:
  // `multipole.entry` ("step", "build" or "update") and `multipole.step` (the
  // step an index entry point belongs to) on entry points, `multipole.role`
  // (q, k, v, lens, out, L<level>.<array>) on their arguments and results;
  // `multipole.programmatic_launch` (unit) on a module whose GPU kernels
  // multipole-gpu-programmatic-launch made ready for programmatic dependent
  // launch; `multipole.bf16_weights` (unit) on a centroid_approx whose step's
  // exact part reads bf16 caches (multipole-gpu-plan: its weights may be
  // rounded to bf16 on tensor cores, as the exact part's are);
  // `multipole.scores_in_select` (unit) on a centroid_score whose scores only
  // a select_clusters reads (multipole-gpu-plan, GPU option fuse-scores: the
  // selection kernel computes them from the logits).
  let discardableAttrs = (ins
    "::mlir::StringAttr":$role,
    "::mlir::StringAttr":$entry,
    "::mlir::FlatSymbolRefAttr":$step,
    "::mlir::UnitAttr":$programmatic_launch,
    "::mlir::UnitAttr":$bf16_weights,
    "::mlir::UnitAttr":$scores_in_select
  );
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::memref::MemRefDialect"];
}

class Multipole_Op<string mnemonic, list<Trait> traits = []>
    : Op<Multipole_Dialect, mnemonic, traits>;

#endif // MULTIPOLE_DIALECT_TD
