//===- Passes.td - multipole transformation passes --------*- tablegen -*-===//
#ifndef MULTIPOLE_TRANSFORMS_PASSES_TD
#define MULTIPOLE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def MultipoleDetectDecodeAttention
    : Pass<"multipole-detect-decode-attention", "func::FuncOp"> {
  let summary = "Find dense decode attention in linalg and replace it with "
                "multipole.decode_attention";
  let description = [{
    Matches decode attention written in linalg on tensors, the way importers
    emit it:

    - the QK^T contraction: `linalg.batch_matmul` / `linalg.matmul` (with or
      without a transposed indexing map on the key operand, or behind a
      `linalg.transpose`) or a `linalg.generic` contraction (one reduction
      dimension, mul + add body), with one query token;
    - an optional scaling (`linalg.generic` multiply or divide by a constant,
      before or folded in the query), an optional additive mask;
    - softmax: `linalg.softmax`, or its max / sub / exp / sum / div
      decomposition in `linalg.generic`s;
    - the contraction with V;
    - GQA expressed by broadcasting the KV heads (`linalg.broadcast`, or
      `tensor.expand_shape` + `linalg.generic` broadcast + `tensor.collapse_shape`).

    The match is on the data-flow graph between the query, key and value
    tensors and the result, whatever the op spelling. A match becomes
    `multipole.decode_attention` on `q [B, Hq, D]`, `k, v [B, Hkv, N, D]`;
    reshapes to that canonical layout are inserted. IR that is not decode
    attention (more than one query token, no softmax, shapes that do not
    line up) is left alone. A function with a contraction and a softmax (or
    a max reduction and an exp) in which nothing is detected gets one remark,
    at a contraction, naming the first condition that failed; with
    `-debug-only=multipole-detect` every failed attempt is printed.

    GQA is also recognized in its grouped spelling: q viewed as
    `[B, Hkv, G, D]` against un-repeated `[B, Hkv, N, D]` keys and values,
    provided q or the result merges G with the KV heads somewhere
    (`[B, Hkv * G, D]`); otherwise the G axis is taken for query tokens.
  }];
  let dependentDialects = ["::mlir::multipole::MultipoleDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect"];
  let statistics = [Statistic<"numMatched", "num-matched",
                              "Number of decode attentions detected">];
}

def MultipoleRewrite : Pass<"multipole-rewrite", "ModuleOp"> {
  let summary = "Rewrite multipole.decode_attention into clustered multipole form";
  let description = [{
    For every function that contains `multipole.decode_attention` on tensors
    whose q, k, v (and lens, if any) are function arguments, this pass
    appends `lens` (when the attention had none) and the cluster index (seven
    arrays per level, docs/ABI.md) to the function's arguments and replaces
    the attention with `centroid_score` -> `select_clusters` ->
    `sparse_attention` (+ `centroid_approx`) -> `merge`.

    Then, unless `entry-points=false`, it runs `multipole-entry-points` (the
    ABI of the compiled library: the build and update entry points and the
    `multipole.role` / `multipole.entry` tags).

    The options set the knobs of `#multipole.config` (docs/Algorithm.md).
    Out-of-range knobs are reported as errors.
  }];
  let dependentDialects = ["::mlir::multipole::MultipoleDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::func::FuncDialect"];
  let options = [
    Option<"fraction", "fraction", "double", "0.0625",
           "Level-0 clusters per clustered token, in (0, 1) (default 0.0625)">,
    Option<"budgetTokens", "budget-tokens", "int64_t", "-1",
           "Level-0 budget in tokens per (sequence, KV head); overrides "
           "budget-fraction when >= 0 (default -1: use budget-fraction)">,
    Option<"budgetFraction", "budget-fraction", "double", "0.1",
           "Level-0 budget as a fraction of the clustered length, in [0, 1) "
           "(default 0.1)">,
    Option<"coarseFraction", "coarse-fraction", "double", "0.0",
           "Add a coarse level with this many clusters per fine cluster, in "
           "(0, 1) (default 0: one level)">,
    Option<"coarseBudgetTokens", "coarse-budget-tokens", "int64_t", "-1",
           "Coarse-level budget in tokens; overrides coarse-budget-fraction "
           "when >= 0 (default -1: use coarse-budget-fraction)">,
    Option<"coarseBudgetFraction", "coarse-budget-fraction", "double", "0.25",
           "Coarse-level budget as a fraction of the clustered length "
           "(default 0.25)">,
    Option<"sink", "sink", "int64_t", "16",
           "Always-exact prefix in tokens (default 16)">,
    Option<"interval", "interval", "int64_t", "128",
           "Recluster interval I: the window holds I..2I-1 tokens "
           "(default 128)">,
    Option<"blockSize", "block-size", "int64_t", "8192",
           "k-means block size (default 8192)">,
    Option<"buildIters", "build-iters", "int64_t", "10",
           "Lloyd iterations when building the index (default 10)">,
    Option<"updateIters", "update-iters", "int64_t", "3",
           "Lloyd passes over the last block at each update (default 3)">,
    Option<"scorePosition", "score-position", "int64_t", "2048",
           "Position at which the query is rotated for scoring (windowed "
           "RoPE) (default 2048)">,
    Option<"ropeTheta", "rope-theta", "double", "0.0",
           "RoPE base of the cached keys; > 0 turns on windowed RoPE "
           "(clusters of pre-RoPE keys, query rotated to score-position; on "
           "the trained model it doubled the attention error: "
           "docs/Algorithm.md) (default 0: keys are clustered as cached)">,
    Option<"replacement", "replacement", "bool", "true",
           "Approximate unselected clusters by their centroids (default true)">,
    Option<"centroidType", "centroid-type", "std::string", "\"bf16\"",
           "Element type the index stores key and value centroids in: bf16 "
           "(half the bytes the step reads for them, and the centroid logits "
           "on tensor cores; build and update compute in f32 and round what "
           "they store; the trained model's accuracy and attention error are "
           "unchanged: docs/Algorithm.md) or f32 (default bf16)">,
    Option<"entryPoints", "entry-points", "bool", "true",
           "Run multipole-entry-points afterwards (build/update entry points "
           "and role tags) (default true)">
  ];
}

def MultipoleEntryPoints : Pass<"multipole-entry-points", "ModuleOp"> {
  let summary = "Add the build and update entry points of a multipole step, "
                "and tag the library's ABI";
  let description = [{
    For every function in multipole form (one `multipole.sparse_attention`
    on tensors, as `multipole-rewrite` leaves it) that is not yet an entry
    point, this pass:

    1. adds `@<f>_mp_build(k, v, lens) -> index`, which builds the cluster
       index from a prefilled KV cache (`cluster_build`, then
       `cluster_coarsen` for a coarse level), and
       `@<f>_mp_update(k, v, lens, index) -> index`, which folds new tokens
       into it (`cluster_update`); their arguments are the arguments of `@f`
       that k, v and lens are computed from (the computation is copied);
    2. tags `@f` as `multipole.entry = "step"` and the two new functions as
       "build" / "update" with `multipole.step = @f`;
    3. tags arguments and results with `multipole.role` (q, k, v, lens,
       L<level>.<array>, out), looking through reshapes, so that drivers,
       runners and the Python package know which is which (docs/ABI.md).

    ```mlir
    // before: func.func @attn(%q, %k, %v, %lens, %L0.centroids, ...) -> ...
    // after:  func.func @attn(%q {multipole.role = "q"}, ...)
    //             attributes {multipole.entry = "step"}
    //         func.func @attn_mp_update(%k {multipole.role = "k"}, %v, %lens,
    //             %index...) -> (index...) attributes {multipole.entry =
    //             "update", multipole.step = @attn}
    //         func.func @attn_mp_build(%k, %v, %lens) -> (index...)
    ```
  }];
  let dependentDialects = ["::mlir::multipole::MultipoleDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::func::FuncDialect"];
}

def MultipoleDropAliasingResults
    : Pass<"multipole-drop-aliasing-results", "ModuleOp"> {
  let summary = "Drop memref results of entry points that return an argument";
  let description = [{
    After one-shot bufferization with function boundaries, an entry point that
    updates an argument in place (such as `@<f>_mp_update`, whose index
    arguments are written in place) still returns those buffers. Upstream
    `drop-equivalent-buffer-results` leaves public functions alone; this pass
    removes, from public functions carrying `multipole.entry`, every result
    that is returned as exactly one of the function's own arguments, so that
    the C interface updates the caller's buffers in place with no copy.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def MultipoleDistinctResults
    : Pass<"multipole-distinct-results", "ModuleOp"> {
  let summary = "Return a buffer at most once per return (copies for repeats)";
  let description = [{
    After bufferization, a function may return one buffer several times
    (`return %a, %a`). Upstream `buffer-results-to-out-params{hoist-static-allocs}`
    replaces the allocation of a returned buffer by the out parameter of its
    first use and then dereferences the erased allocation for the second one
    (a segfault in MLIR 22). This pass runs before it: every repeated memref
    operand of a `func.return` is replaced by a fresh allocation holding a
    copy, so each result has a buffer of its own. Repeats of a buffer with a
    non-identity layout are reported as errors.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def MultipoleTransposeViews
    : Pass<"multipole-transpose-views", "ModuleOp"> {
  let summary = "Read transposed function arguments in place (strided views "
                "instead of copies)";
  let description = [{
    A KV cache laid out as [B, N, Hkv, D] (FlashAttention, vLLM) reaches the
    multipole ops through a `linalg.transpose` to [B, Hkv, N, D], which
    one-shot bufferization turns into a copy of the whole cache on every call.
    After bufferization, this pass replaces such a copy by `memref.transpose`
    of the source (a strided view, no data moved) when the copy cannot be
    told from the source: the destination is a fresh `memref.alloc` of the
    block, the source is a view of a function argument through which nothing
    in the function writes, and every later use of the destination (or of an
    expand_shape / collapse_shape of it, rebuilt on the view) only reads it.
    The multipole ops then take strided operands: the CPU kernels read any
    strides; the GPU lowering takes a strided K/V where its kernels do
    (docs/Design.md, "KV layouts").
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif
