// The bufferized step of multipole-step.mlir without replacement (multipole-rewrite
// {replacement=false}, one-shot-bufferize, multipole-drop-aliasing-results): nothing
// reads the logits after the score op, and their deallocation sits right after it,
// before the selection. gpu-plan.mlir checks that fusing the scores into the
// selection (which reads the logits) moves that deallocation after the selection.
#mp_config = #multipole.config<levels = [#multipole.level<fraction = 6.250000e-02, budget_fraction = 1.000000e-01>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.000000e+00, replacement = false>
module {
  func.func @attn(%arg0: memref<1x32x128xbf16> {multipole.role = "q"}, %arg1: memref<1x8x32768x128xbf16> {multipole.role = "k"}, %arg2: memref<1x8x32768x128xbf16> {multipole.role = "v"}, %arg3: memref<1xi32> {multipole.role = "lens"}, %arg4: memref<1x8x2058x128xbf16> {multipole.role = "L0.centroids"}, %arg5: memref<1x8x2058x128xbf16> {multipole.role = "L0.vcentroids"}, %arg6: memref<1x8x2058xi32> {multipole.role = "L0.counts"}, %arg7: memref<1x8x2059xi32> {multipole.role = "L0.offsets"}, %arg8: memref<1x8x32768xi32> {multipole.role = "L0.members"}, %arg9: memref<1x8x32768xi32> {multipole.role = "L0.assign"}, %arg10: memref<1x8x4xi32> {multipole.role = "L0.state"}) -> (memref<1x32x128xbf16> {multipole.role = "out"}) attributes {multipole.entry = "step"} {
    %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x32x128xbf16>
    %alloc_0 = memref.alloc() {alignment = 64 : i64} : memref<1x8x2058xf32>
    %alloc_1 = memref.alloc() {alignment = 64 : i64} : memref<1x32x2058xf32>
    multipole.centroid_score %arg0 index(%arg4, %arg5, %arg6, %arg7, %arg8, %arg9, %arg10) lens %arg3 outs(%alloc_0, %alloc_1) {config = #mp_config, level = 0 : i64} : memref<1x32x128xbf16>, index(memref<1x8x2058x128xbf16>, memref<1x8x2058x128xbf16>, memref<1x8x2058xi32>, memref<1x8x2059xi32>, memref<1x8x32768xi32>, memref<1x8x32768xi32>, memref<1x8x4xi32>), memref<1xi32> outs memref<1x8x2058xf32>, memref<1x32x2058xf32>
    memref.dealloc %alloc_1 : memref<1x32x2058xf32>
    %alloc_2 = memref.alloc() {alignment = 64 : i64} : memref<1x8x2058xi8>
    multipole.select_clusters %alloc_0 index(%arg4, %arg5, %arg6, %arg7, %arg8, %arg9, %arg10) outs(%alloc_2) {config = #mp_config, level = 0 : i64} : memref<1x8x2058xf32>, index(memref<1x8x2058x128xbf16>, memref<1x8x2058x128xbf16>, memref<1x8x2058xi32>, memref<1x8x2059xi32>, memref<1x8x32768xi32>, memref<1x8x32768xi32>, memref<1x8x4xi32>) outs memref<1x8x2058xi8>
    %alloc_3 = memref.alloc() {alignment = 64 : i64} : memref<1x32x128xf32>
    %alloc_4 = memref.alloc() {alignment = 64 : i64} : memref<1x32xf32>
    %alloc_5 = memref.alloc() {alignment = 64 : i64} : memref<1x32xf32>
    multipole.sparse_attention %arg0, %arg1, %arg2 lens %arg3 index(%arg4, %arg5, %arg6, %arg7, %arg8, %arg9, %arg10) selected %alloc_2 outs(%alloc_3, %alloc_4, %alloc_5) {config = #mp_config} : memref<1x32x128xbf16>, memref<1x8x32768x128xbf16>, memref<1x8x32768x128xbf16>, memref<1xi32>, index(memref<1x8x2058x128xbf16>, memref<1x8x2058x128xbf16>, memref<1x8x2058xi32>, memref<1x8x2059xi32>, memref<1x8x32768xi32>, memref<1x8x32768xi32>, memref<1x8x4xi32>), memref<1x8x2058xi8> outs memref<1x32x128xf32>, memref<1x32xf32>, memref<1x32xf32>
    multipole.merge %alloc_3, %alloc_4, %alloc_5 outs(%alloc) : memref<1x32x128xf32>, memref<1x32xf32>, memref<1x32xf32> outs memref<1x32x128xbf16>
    return %alloc : memref<1x32x128xbf16>
  }
}

