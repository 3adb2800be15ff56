//===- MultipoleOps.td - multipole operations -------------*- tablegen -*-===//
#ifndef MULTIPOLE_OPS_TD
#define MULTIPOLE_OPS_TD

include "multipole/Dialect/Multipole/IR/MultipoleDialect.td"
include "multipole/Dialect/Multipole/IR/MultipoleAttrs.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

// Tensors on the way in, memrefs after bufferization (like linalg).
def MP_Shaped : AnyTypeOf<[AnyRankedTensor, AnyMemRef]>;

class MP_DPSOp<string mnemonic, list<Trait> traits = []>
    : Multipole_Op<mnemonic, !listconcat(traits, [
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
        DestinationStyleOpInterface])> {
  let results = (outs Variadic<AnyRankedTensor>:$results);
  code commonDecls = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() { return getOutsMutable(); }
  }];
  let extraClassDeclaration = commonDecls;
  let hasVerifier = 1;
}

def Multipole_DecodeAttentionOp : MP_DPSOp<"decode_attention",
    [AttrSizedOperandSegments]> {
  let summary = "Dense decode attention with GQA over a KV cache";
  let description = [{
    One query token per sequence attends to the sequence's whole cache:
    `out[b, i] = softmax_j(scale * q[b, i] . k[b, i / G, j]) @ v[b, i / G, j]`
    over `j < lens[b]` (all `N` cached tokens when `lens` is absent), with
    `G = Hq / Hkv` query heads per KV head (grouped-query attention).

    Shapes: `q: [B, Hq, D]`, `k, v: [B, Hkv, N, D]`, `lens: [B] x i32`,
    `outs: [B, Hq, D]`. q, k, v and the output share one element type among
    bf16, f16 and f32. `scale` defaults to `1/sqrt(D)`.

    `--multipole-detect-decode-attention` produces this op from linalg;
    `--multipole-rewrite` turns it into the clustered form.

    ```mlir
    %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init)
        {scale = 0.0883883461 : f32}
        : tensor<4x32x128xbf16>, tensor<4x8x32768x128xbf16>,
          tensor<4x8x32768x128xbf16>, tensor<4xi32> outs tensor<4x32x128xbf16>
        -> tensor<4x32x128xbf16>
    ```
  }];
  let arguments = (ins MP_Shaped:$q, MP_Shaped:$k, MP_Shaped:$v,
                   Optional<MP_Shaped>:$lens, Variadic<MP_Shaped>:$outs,
                   OptionalAttr<F32Attr>:$scale);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`lens` $lens^)? `outs` `(` $outs `)` attr-dict `:`
    type($q) `,` type($k) `,` type($v) (`,` type($lens)^)? `outs` type($outs)
    (`->` type($results)^)?
  }];
}

def Multipole_ClusterBuildOp : MP_DPSOp<"cluster_build"> {
  let summary = "Build level 0 of the cluster index by blocked k-means";
  let description = [{
    Clusters the keys of the clustered region `[sink, sink + Lc)` of every
    (sequence, KV head) by blocked k-means on pre-RoPE keys and writes the
    level-0 cluster index: the seven arrays `centroids [B,H,C,D] f32`,
    `vcentroids [B,H,C,D] f32`, `counts [B,H,C] i32`, `offsets [B,H,C+1] i32`,
    `members [B,H,N] i32`, `assign [B,H,N] i32`, `state [B,H,4] i32`
    (docs/ABI.md). `Lc` is chosen from `lens` so that the window holds
    between `interval` and `2 * interval - 1` tokens.

    ```mlir
    %idx:7 = multipole.cluster_build %k, %v lens %lens
        outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #cfg}
        : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1xi32>
        outs tensor<1x8x258x128xf32>, tensor<1x8x258x128xf32>, tensor<1x8x258xi32>,
             tensor<1x8x259xi32>, tensor<1x8x4096xi32>, tensor<1x8x4096xi32>,
             tensor<1x8x4xi32>
        -> tensor<1x8x258x128xf32>, tensor<1x8x258x128xf32>, tensor<1x8x258xi32>,
           tensor<1x8x259xi32>, tensor<1x8x4096xi32>, tensor<1x8x4096xi32>,
           tensor<1x8x4xi32>
    ```
  }];
  let arguments = (ins MP_Shaped:$k, MP_Shaped:$v, MP_Shaped:$lens,
                   Variadic<MP_Shaped>:$outs, Multipole_ConfigAttr:$config);
  let assemblyFormat = [{
    $k `,` $v `lens` $lens `outs` `(` $outs `)` attr-dict `:`
    type($k) `,` type($v) `,` type($lens) `outs` type($outs)
    (`->` type($results)^)?
  }];
}

def Multipole_ClusterUpdateOp : MP_DPSOp<"cluster_update"> {
  let summary = "Online update of level 0 of the cluster index";
  let description = [{
    Moves every full recluster interval of new tokens from the window into the
    clustered region: seeds `max(1, floor(interval * fraction))` new clusters
    per interval from the new tokens, assigns the rest with running-mean steps,
    then runs `update_iters` Lloyd passes over the last block only. Earlier
    blocks stay frozen. The `outs` are the level-0 index (seven arrays, read
    and written). `lens` are the new sequence lengths.

    ```mlir
    %idx:7 = multipole.cluster_update %k, %v lens %lens
        outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #cfg}
        : tensor<1x8x4096x128xbf16>, tensor<1x8x4096x128xbf16>, tensor<1xi32>
        outs tensor<1x8x258x128xf32>, tensor<1x8x258x128xf32>, tensor<1x8x258xi32>,
             tensor<1x8x259xi32>, tensor<1x8x4096xi32>, tensor<1x8x4096xi32>,
             tensor<1x8x4xi32>
        -> tensor<1x8x258x128xf32>, tensor<1x8x258x128xf32>, tensor<1x8x258xi32>,
           tensor<1x8x259xi32>, tensor<1x8x4096xi32>, tensor<1x8x4096xi32>,
           tensor<1x8x4xi32>
    ```
  }];
  let arguments = (ins MP_Shaped:$k, MP_Shaped:$v, MP_Shaped:$lens,
                   Variadic<MP_Shaped>:$outs, Multipole_ConfigAttr:$config);
  let assemblyFormat = [{
    $k `,` $v `lens` $lens `outs` `(` $outs `)` attr-dict `:`
    type($k) `,` type($v) `,` type($lens) `outs` type($outs)
    (`->` type($results)^)?
  }];
}

def Multipole_ClusterCoarsenOp : MP_DPSOp<"cluster_coarsen",
    [AttrSizedOperandSegments]> {
  let summary = "Build a coarse level by clustering the finer level's centroids";
  let description = [{
    Weighted k-means over the non-empty clusters of the finer level (point:
    key centroid, weight: token count). A coarse cluster counts the tokens of
    its members; its centroids are token-weighted means, i.e. means over its
    tokens. `fine` is the finer level's index (seven arrays), `outs` the coarse
    one, whose `members`/`assign` arrays range over fine cluster ids.

    ```mlir
    %coarse:7 = multipole.cluster_coarsen fine(%c, %vc, %n, %off, %mem, %asg, %st)
        outs(%c1, %vc1, %n1, %off1, %mem1, %asg1, %st1) {config = #cfg, level = 1 : i64}
        : tensor<1x8x258x128xf32>, ... outs tensor<1x8x18x128xf32>, ...
        -> tensor<1x8x18x128xf32>, ...
    ```
  }];
  let arguments = (ins Variadic<MP_Shaped>:$fine, Variadic<MP_Shaped>:$outs,
                   Multipole_ConfigAttr:$config, I64Attr:$level);
  let assemblyFormat = [{
    `fine` `(` $fine `)` `outs` `(` $outs `)` attr-dict `:`
    type($fine) `outs` type($outs) (`->` type($results)^)?
  }];
}

def Multipole_CentroidScoreOp : MP_DPSOp<"centroid_score",
    [AttrSizedOperandSegments]> {
  let summary = "Score every cluster of a level against the query";
  let description = [{
    Rotates the query to the scoring position (windowed RoPE), computes the
    centroid logits `a[b, i, c] = scale * q~_i . mu_c` (`outs` #2,
    `[B, Hq, C] f32`) and the cluster scores
    `r[b, h, c] = sum_{i in group(h)} exp(a_ic) / Z_i` with
    `Z_i = sum_c n_c exp(a_ic)` (`outs` #1, `[B, Hkv, C] f32`; -1 for empty
    clusters). `index` is the level's index (seven arrays).

    ```mlir
    %r, %a = multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st)
        lens %lens outs(%r0, %a0) {config = #cfg, level = 0 : i64}
        : tensor<1x32x128xbf16>, ... outs tensor<1x8x258xf32>, tensor<1x32x258xf32>
        -> tensor<1x8x258xf32>, tensor<1x32x258xf32>
    ```
  }];
  let arguments = (ins MP_Shaped:$q, Variadic<MP_Shaped>:$index,
                   MP_Shaped:$lens, Variadic<MP_Shaped>:$outs,
                   Multipole_ConfigAttr:$config, I64Attr:$level,
                   OptionalAttr<F32Attr>:$scale);
  let assemblyFormat = [{
    $q `index` `(` $index `)` `lens` $lens `outs` `(` $outs `)` attr-dict `:`
    type($q) `,` `index` `(` type($index) `)` `,` type($lens) `outs` type($outs)
    (`->` type($results)^)?
  }];
}

def Multipole_SelectClustersOp : MP_DPSOp<"select_clusters",
    [AttrSizedOperandSegments]> {
  let summary = "Budgeted selection of the highest-scoring clusters";
  let description = [{
    Per (sequence, KV head), selects the eligible clusters (non-empty, and with
    a selected parent when `parent` is given) whose score is strictly above the
    threshold at which the running token count, in descending score order,
    first exceeds the level's budget; all eligible clusters when they fit.
    `parent` takes the coarser level's `assign` array (fine id -> coarse id)
    and its selection mask. The output is an i8 mask `[B, Hkv, C]`.

    On memrefs a second output, `chunk_bases` `[B, Hkv, K + 1]` i32, may
    follow the mask: for each of K chunks of `ceil(C / K)` consecutive
    clusters, the number of selected tokens of the chunks before it (entry K:
    the total). The GPU lowering plans it (`multipole-gpu-plan`) when the
    mask feeds a `sparse_attention`, which then reads it as its
    `chunk_bases` operand to place each chunk's members in its token list
    without a serial pass.

    ```mlir
    %sel = multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st)
        outs(%sel0) {config = #cfg, level = 0 : i64}
        : tensor<1x8x258xf32>, ... outs tensor<1x8x258xi8> -> tensor<1x8x258xi8>
    ```
  }];
  let arguments = (ins MP_Shaped:$scores, Variadic<MP_Shaped>:$index,
                   Optional<MP_Shaped>:$parent_assign,
                   Optional<MP_Shaped>:$parent_selected,
                   Variadic<MP_Shaped>:$outs,
                   Multipole_ConfigAttr:$config, I64Attr:$level);
  let assemblyFormat = [{
    $scores `index` `(` $index `)`
    (`parent` `(` $parent_assign^ `,` $parent_selected `:` type($parent_assign) `,` type($parent_selected) `)`)?
    `outs` `(` $outs `)` attr-dict `:`
    type($scores) `,` `index` `(` type($index) `)` `outs` type($outs)
    (`->` type($results)^)?
  }];
}

def Multipole_SparseAttentionOp : MP_DPSOp<"sparse_attention",
    [AttrSizedOperandSegments]> {
  let summary = "Exact attention over sink, window and the selected clusters";
  let description = [{
    Exact attention of the true query against the cached keys of the sink
    `[0, sink)`, the window `[sink + Lc, lens)` and the member tokens of the
    selected level-0 clusters (walked through the member lists). Produces an
    online-softmax partial per query head: `acc [B,Hq,D] f32` (unnormalized),
    `m [B,Hq] f32` (running max, -inf when empty) and `l [B,Hq] f32`.
    `chunk_bases` (memrefs only) is the second output of the
    `select_clusters` that produced `selected` (see there).

    ```mlir
    %acc, %m, %l = multipole.sparse_attention %q, %k, %v lens %lens
        index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel
        outs(%acc0, %m0, %l0) {config = #cfg}
        : ... outs tensor<1x32x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>
        -> tensor<1x32x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>
    ```
  }];
  let arguments = (ins MP_Shaped:$q, MP_Shaped:$k, MP_Shaped:$v,
                   MP_Shaped:$lens, Variadic<MP_Shaped>:$index,
                   MP_Shaped:$selected, Optional<MP_Shaped>:$chunk_bases,
                   Variadic<MP_Shaped>:$outs,
                   Multipole_ConfigAttr:$config, OptionalAttr<F32Attr>:$scale);
  let assemblyFormat = [{
    $q `,` $k `,` $v `lens` $lens `index` `(` $index `)` `selected` $selected
    (`chunk_bases` `(` $chunk_bases^ `:` type($chunk_bases) `)`)?
    `outs` `(` $outs `)` attr-dict `:`
    type($q) `,` type($k) `,` type($v) `,` type($lens) `,`
    `index` `(` type($index) `)` `,` type($selected) `outs` type($outs)
    (`->` type($results)^)?
  }];
}

def Multipole_CentroidApproxOp : MP_DPSOp<"centroid_approx",
    [AttrSizedOperandSegments]> {
  let summary = "Centroid approximation (replacement) of the unselected clusters";
  let description = [{
    Every eligible, unselected cluster stands in for all its tokens with its
    value centroid weighted by its token count:
    `acc = sum_c n_c exp(a_ic - m) nu_c`, `l = sum_c n_c exp(a_ic - m)`,
    `m = max_c a_ic`, using the logits `a` of `multipole.centroid_score`.
    Eligible as for `multipole.select_clusters`.

    ```mlir
    %acc, %m, %l = multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st)
        selected %sel outs(%acc0, %m0, %l0) {level = 0 : i64}
        : tensor<1x32x258xf32>, ..., tensor<1x8x258xi8>
        outs tensor<1x32x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>
        -> tensor<1x32x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>
    ```
  }];
  let arguments = (ins MP_Shaped:$logits, Variadic<MP_Shaped>:$index,
                   MP_Shaped:$selected,
                   Optional<MP_Shaped>:$parent_assign,
                   Optional<MP_Shaped>:$parent_selected,
                   Variadic<MP_Shaped>:$outs, I64Attr:$level);
  let assemblyFormat = [{
    $logits `index` `(` $index `)` `selected` $selected
    (`parent` `(` $parent_assign^ `,` $parent_selected `:` type($parent_assign) `,` type($parent_selected) `)`)?
    `outs` `(` $outs `)` attr-dict `:`
    type($logits) `,` `index` `(` type($index) `)` `,` type($selected) `outs` type($outs)
    (`->` type($results)^)?
  }];
}

def Multipole_MergeOp : MP_DPSOp<"merge", [AttrSizedOperandSegments]> {
  let summary = "Log-sum-exp merge of attention partials into the output";
  let description = [{
    Combines partials `(acc_p [B,Hq,D], m_p [B,Hq], l_p [B,Hq])`, given as
    consecutive triples, into `out = sum_p acc_p e^(m_p - m) / sum_p l_p e^(m_p - m)`
    with `m = max_p m_p`. Empty partials (`l_p = 0`) contribute nothing; the
    output is 0 where every partial is empty. The output element type is
    bf16, f16 or f32. On memrefs a triple may also hold per-split partials
    (`acc [B,Hq,S,D]`, `m, l [B,Hq,S]`), each split merged like a partial:
    the form `multipole-gpu-plan` gives the outputs of `sparse_attention` and
    `centroid_approx` (which accept it too) when only the merge reads them.

    ```mlir
    %o = multipole.merge %acc1, %m1, %l1, %acc2, %m2, %l2 outs(%init)
        : tensor<1x32x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>,
          tensor<1x32x128xf32>, tensor<1x32xf32>, tensor<1x32xf32>
        outs tensor<1x32x128xbf16> -> tensor<1x32x128xbf16>
    ```
  }];
  let arguments = (ins Variadic<MP_Shaped>:$partials, Variadic<MP_Shaped>:$outs);
  let assemblyFormat = [{
    $partials `outs` `(` $outs `)` attr-dict `:` type($partials) `outs` type($outs)
    (`->` type($results)^)?
  }];
}

#endif // MULTIPOLE_OPS_TD
