// RUN: multipole-opt %s --multipole-rewrite | FileCheck %s
// RUN: multipole-opt %s --multipole-rewrite="sink=4 interval=32 block-size=256 budget-tokens=64" | FileCheck %s --check-prefix=OPT
// RUN: multipole-opt %s --multipole-rewrite="replacement=false" | FileCheck %s --check-prefix=NOREP
// RUN: multipole-opt %s --multipole-rewrite="fraction=0.01 interval=8 block-size=512" | FileCheck %s --check-prefix=CAP
// RUN: multipole-opt %s --multipole-rewrite="centroid-type=bf16" | FileCheck %s --check-prefix=BF16
// RUN: multipole-opt %s --multipole-rewrite="centroid-type=f32" | FileCheck %s --check-prefix=F32
// RUN: not multipole-opt %s --multipole-rewrite="centroid-type=f64" 2>&1 | FileCheck %s --check-prefix=BADCT

// Centroids stored in bf16 (the default, as in the CHECK lines below, and
// explicitly): both centroid arrays of the index, everywhere; f32 on request.
// BF16: tensor<1x2x66x64xbf16> {multipole.role = "L0.centroids"}, %{{.*}}: tensor<1x2x66x64xbf16> {multipole.role = "L0.vcentroids"}
// BF16: multipole.centroid_score {{.*}} index(tensor<1x2x66x64xbf16>, tensor<1x2x66x64xbf16>, tensor<1x2x66xi32>
// BF16-NOT: tensor<1x2x66x64xf32>
// F32: tensor<1x2x66x64xf32> {multipole.role = "L0.centroids"}, %{{.*}}: tensor<1x2x66x64xf32> {multipole.role = "L0.vcentroids"}
// F32: multipole.centroid_score {{.*}} index(tensor<1x2x66x64xf32>, tensor<1x2x66x64xf32>, tensor<1x2x66xi32>
// F32-NOT: tensor<1x2x66x64xbf16>
// BADCT: error: invalid multipole-rewrite option: centroid-type must be f32 or bf16, got 'f64'

// --multipole-rewrite on functions whose decode_attention has `lens`. The
// coarse level (coarse-fraction) and the case without `lens` are in
// rewrite-coarse.mlir and rewrite-no-lens.mlir.
//
// Level-0 capacity (ConfigAttr::capacity):
//   C0 = ceil(N * max(f, 1/I)) + N / (BS / 2) + 2
// default (f = 1/16, I = 128, BS = 8192): N = 1024 -> 64 + 0 + 2 = 66
//                                         N = 512  -> 32 + 0 + 2 = 34
// OPT (f = 1/16, I = 32, BS = 256):       N = 1024 -> 64 + 8 + 2 = 74
//                                         N = 512  -> 32 + 4 + 2 = 38
// CAP (f = 0.01 < 1/I = 1/8, BS = 512):   N = 1024 -> 128 + 4 + 2 = 134
//                                         N = 512  -> 64 + 2 + 2 = 68

// CHECK: #[[CFG:mp_config]] = #multipole.config<levels = [#multipole.level<fraction = 6.250000e-02, budget_fraction = 1.000000e-01>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.000000e+00, replacement = true>{{$}}
// OPT: #[[CFG:mp_config]] = #multipole.config<levels = [#multipole.level<fraction = 6.250000e-02, budget_tokens = 64>], sink = 4, interval = 32, block_size = 256, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.000000e+00, replacement = true>{{$}}
// NOREP: #[[CFG:mp_config]] = #multipole.config<levels = [#multipole.level<fraction = 6.250000e-02, budget_fraction = 1.000000e-01>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.000000e+00, replacement = false>{{$}}
// CAP: #[[CFG:mp_config]] = #multipole.config<levels = [#multipole.level<fraction = 1.000000e-02, budget_fraction = 1.000000e-01>], sink = 16, interval = 8, block_size = 512, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.000000e+00, replacement = true>{{$}}

// ---------------------------------------------------------------------------
// Step function: q/k/v/lens are tagged, the seven level-0 arrays appended.
// CHECK-LABEL: func.func @attn(
// CHECK-SAME: %arg0: tensor<1x8x64xbf16> {multipole.role = "q"},
// CHECK-SAME: %arg1: tensor<1x2x1024x64xbf16> {multipole.role = "k"},
// CHECK-SAME: %arg2: tensor<1x2x1024x64xbf16> {multipole.role = "v"},
// CHECK-SAME: %arg3: tensor<1xi32> {multipole.role = "lens"},
// CHECK-SAME: %arg4: tensor<1x8x64xbf16>,
// CHECK-SAME: %arg5: tensor<1x2x66x64xbf16> {multipole.role = "L0.centroids"},
// CHECK-SAME: %arg6: tensor<1x2x66x64xbf16> {multipole.role = "L0.vcentroids"},
// CHECK-SAME: %arg7: tensor<1x2x66xi32> {multipole.role = "L0.counts"},
// CHECK-SAME: %arg8: tensor<1x2x67xi32> {multipole.role = "L0.offsets"},
// CHECK-SAME: %arg9: tensor<1x2x1024xi32> {multipole.role = "L0.members"},
// CHECK-SAME: %arg10: tensor<1x2x1024xi32> {multipole.role = "L0.assign"},
// CHECK-SAME: %arg11: tensor<1x2x4xi32> {multipole.role = "L0.state"})
// CHECK-SAME: -> (tensor<1x8x64xbf16> {multipole.role = "out"})
// CHECK-SAME: attributes {multipole.entry = "step"}
// CHECK-NOT: multipole.decode_attention
// CHECK: %[[R0:.+]] = tensor.empty() : tensor<1x2x66xf32>
// CHECK: %[[A0:.+]] = tensor.empty() : tensor<1x8x66xf32>
// CHECK: %[[SC:.+]]:2 = multipole.centroid_score %arg0 index(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) lens %arg3 outs(%[[R0]], %[[A0]])
// CHECK-SAME: {config = #[[CFG]], level = 0 : i64, scale = 1.250000e-01 : f32}
// CHECK-SAME: outs tensor<1x2x66xf32>, tensor<1x8x66xf32> -> tensor<1x2x66xf32>, tensor<1x8x66xf32>
// CHECK: %[[S0:.+]] = tensor.empty() : tensor<1x2x66xi8>
// CHECK: %[[SEL:.+]] = multipole.select_clusters %[[SC]]#0 index(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) outs(%[[S0]]) {config = #[[CFG]], level = 0 : i64}
// CHECK-SAME: outs tensor<1x2x66xi8> -> tensor<1x2x66xi8>
// CHECK: %[[E0:.+]] = tensor.empty() : tensor<1x8x64xf32>
// CHECK: %[[E1:.+]] = tensor.empty() : tensor<1x8xf32>
// CHECK: %[[E2:.+]] = tensor.empty() : tensor<1x8xf32>
// CHECK: %[[EX:.+]]:3 = multipole.sparse_attention %arg0, %arg1, %arg2 lens %arg3 index(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) selected %[[SEL]] outs(%[[E0]], %[[E1]], %[[E2]])
// CHECK-SAME: {config = #[[CFG]], scale = 1.250000e-01 : f32}
// CHECK: %[[P0:.+]] = tensor.empty() : tensor<1x8x64xf32>
// CHECK: %[[P1:.+]] = tensor.empty() : tensor<1x8xf32>
// CHECK: %[[P2:.+]] = tensor.empty() : tensor<1x8xf32>
// CHECK: %[[AP:.+]]:3 = multipole.centroid_approx %[[SC]]#1 index(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) selected %[[SEL]] outs(%[[P0]], %[[P1]], %[[P2]]) {level = 0 : i64}
// CHECK: %[[OUT:.+]] = multipole.merge %[[EX]]#0, %[[EX]]#1, %[[EX]]#2, %[[AP]]#0, %[[AP]]#1, %[[AP]]#2 outs(%arg4)
// CHECK-SAME: outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
// CHECK-NEXT: return %[[OUT]] : tensor<1x8x64xbf16>

// Build entry: (k, v, lens) -> level-0 index.
// CHECK-LABEL: func.func @attn_mp_build(
// CHECK-SAME: %arg0: tensor<1x2x1024x64xbf16> {multipole.role = "k"}, %arg1: tensor<1x2x1024x64xbf16> {multipole.role = "v"}, %arg2: tensor<1xi32> {multipole.role = "lens"})
// CHECK-SAME: -> (tensor<1x2x66x64xbf16> {multipole.role = "L0.centroids"}, tensor<1x2x66x64xbf16> {multipole.role = "L0.vcentroids"}, tensor<1x2x66xi32> {multipole.role = "L0.counts"}, tensor<1x2x67xi32> {multipole.role = "L0.offsets"}, tensor<1x2x1024xi32> {multipole.role = "L0.members"}, tensor<1x2x1024xi32> {multipole.role = "L0.assign"}, tensor<1x2x4xi32> {multipole.role = "L0.state"})
// CHECK-SAME: attributes {multipole.entry = "build", multipole.step = @attn}
// CHECK-COUNT-7: tensor.empty()
// CHECK-NEXT: %[[B:.+]]:7 = multipole.cluster_build %arg0, %arg1 lens %arg2 outs({{.*}}) {config = #[[CFG]]}
// CHECK-SAME: : tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1xi32> outs tensor<1x2x66x64xbf16>, tensor<1x2x66x64xbf16>, tensor<1x2x66xi32>, tensor<1x2x67xi32>, tensor<1x2x1024xi32>, tensor<1x2x1024xi32>, tensor<1x2x4xi32> ->
// CHECK-NEXT: return %[[B]]#0, %[[B]]#1, %[[B]]#2, %[[B]]#3, %[[B]]#4, %[[B]]#5, %[[B]]#6 :
// CHECK-NOT: cluster_coarsen
// CHECK-LABEL: func.func @attn_mp_update(

// Update entry: (k, v, lens, index) -> index, updated in place.
// CHECK-SAME: %arg0: tensor<1x2x1024x64xbf16> {multipole.role = "k"}, %arg1: tensor<1x2x1024x64xbf16> {multipole.role = "v"}, %arg2: tensor<1xi32> {multipole.role = "lens"},
// CHECK-SAME: %arg3: tensor<1x2x66x64xbf16> {multipole.role = "L0.centroids"}, %arg4: tensor<1x2x66x64xbf16> {multipole.role = "L0.vcentroids"}, %arg5: tensor<1x2x66xi32> {multipole.role = "L0.counts"}, %arg6: tensor<1x2x67xi32> {multipole.role = "L0.offsets"}, %arg7: tensor<1x2x1024xi32> {multipole.role = "L0.members"}, %arg8: tensor<1x2x1024xi32> {multipole.role = "L0.assign"}, %arg9: tensor<1x2x4xi32> {multipole.role = "L0.state"})
// CHECK-SAME: -> (tensor<1x2x66x64xbf16> {multipole.role = "L0.centroids"}, {{.*}}, tensor<1x2x4xi32> {multipole.role = "L0.state"})
// CHECK-SAME: attributes {multipole.entry = "update", multipole.step = @attn}
// CHECK-NEXT: %[[U:.+]]:7 = multipole.cluster_update %arg0, %arg1 lens %arg2 outs(%arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9) {config = #[[CFG]]}
// CHECK-NEXT: return %[[U]]#0, %[[U]]#1, %[[U]]#2, %[[U]]#3, %[[U]]#4, %[[U]]#5, %[[U]]#6 :
// CHECK-NEXT: }

// OPT-LABEL: func.func @attn(
// OPT-SAME: %arg5: tensor<1x2x74x64xbf16> {multipole.role = "L0.centroids"}, %arg6: tensor<1x2x74x64xbf16> {multipole.role = "L0.vcentroids"}, %arg7: tensor<1x2x74xi32> {multipole.role = "L0.counts"}, %arg8: tensor<1x2x75xi32> {multipole.role = "L0.offsets"}, %arg9: tensor<1x2x1024xi32> {multipole.role = "L0.members"}
// OPT: multipole.centroid_score {{.*}} {config = #[[CFG]], level = 0 : i64, scale = 1.250000e-01 : f32} {{.*}} outs tensor<1x2x74xf32>, tensor<1x8x74xf32>
// OPT: multipole.select_clusters {{.*}} outs tensor<1x2x74xi8>
// OPT: multipole.sparse_attention
// OPT: multipole.centroid_approx
// OPT: multipole.merge
// OPT-LABEL: func.func @attn_mp_build(
// OPT-SAME: -> (tensor<1x2x74x64xbf16> {multipole.role = "L0.centroids"}
// OPT: multipole.cluster_build {{.*}} {config = #[[CFG]]}
// OPT-LABEL: func.func @attn_mp_update(
// OPT: multipole.cluster_update {{.*}} {config = #[[CFG]]}

// No replacement: the exact partial is merged alone.
// NOREP-LABEL: func.func @attn(
// NOREP: %[[SC:.+]]:2 = multipole.centroid_score
// NOREP: %[[SEL:.+]] = multipole.select_clusters %[[SC]]#0
// NOREP: %[[EX:.+]]:3 = multipole.sparse_attention {{.*}} selected %[[SEL]]
// NOREP-NOT: centroid_approx
// NOREP: %[[OUT:.+]] = multipole.merge %[[EX]]#0, %[[EX]]#1, %[[EX]]#2 outs(%arg4) : tensor<1x8x64xf32>, tensor<1x8xf32>, tensor<1x8xf32> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
// NOREP-NEXT: return %[[OUT]]
// NOREP-LABEL: func.func @attn_mp_build(

// CAP-LABEL: func.func @attn(
// CAP-SAME: %arg5: tensor<1x2x134x64xbf16> {multipole.role = "L0.centroids"}
// CAP-SAME: %arg8: tensor<1x2x135xi32> {multipole.role = "L0.offsets"}
// CAP-LABEL: func.func @attn_mp_build(
// CAP-SAME: -> (tensor<1x2x134x64xbf16> {multipole.role = "L0.centroids"}
func.func @attn(%q: tensor<1x8x64xbf16>, %k: tensor<1x2x1024x64xbf16>, %v: tensor<1x2x1024x64xbf16>, %lens: tensor<1xi32>, %init: tensor<1x8x64xbf16>) -> tensor<1x8x64xbf16> {
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init) {scale = 0.125 : f32} : tensor<1x8x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1xi32> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
  return %o : tensor<1x8x64xbf16>
}

// ---------------------------------------------------------------------------
// The KV cache is computed from arguments (append one token): that slice is
// cloned into the entry points, whose arguments are the slice's arguments.
// No scale attribute: none is added.
// CHECK-LABEL: func.func @cache_update(
// CHECK-SAME: %arg0: tensor<2x4x32xf32> {multipole.role = "q"}, %arg1: tensor<2x4x511x32xf32>, %arg2: tensor<2x4x511x32xf32>, %arg3: tensor<2x4x1x32xf32>, %arg4: tensor<2x4x1x32xf32>, %arg5: tensor<2xi32> {multipole.role = "lens"},
// CHECK-SAME: %arg6: tensor<2x4x34x32xbf16> {multipole.role = "L0.centroids"}, %arg7: tensor<2x4x34x32xbf16> {multipole.role = "L0.vcentroids"}, %arg8: tensor<2x4x34xi32> {multipole.role = "L0.counts"}, %arg9: tensor<2x4x35xi32> {multipole.role = "L0.offsets"}, %arg10: tensor<2x4x512xi32> {multipole.role = "L0.members"}, %arg11: tensor<2x4x512xi32> {multipole.role = "L0.assign"}, %arg12: tensor<2x4x4xi32> {multipole.role = "L0.state"})
// CHECK: %[[K0:.+]] = tensor.insert_slice %arg1 into
// CHECK: %[[K:.+]] = tensor.insert_slice %arg3 into %[[K0]]
// CHECK: %[[V0:.+]] = tensor.insert_slice %arg2 into
// CHECK: %[[V:.+]] = tensor.insert_slice %arg4 into %[[V0]]
// CHECK: multipole.centroid_score %arg0 index(%arg6, %arg7, %arg8, %arg9, %arg10, %arg11, %arg12) lens %arg5 {{.*}} {config = #[[CFG]], level = 0 : i64} :
// CHECK: multipole.sparse_attention %arg0, %[[K]], %[[V]] lens %arg5 {{.*}} {config = #[[CFG]]} :
// CHECK: multipole.merge
// CHECK-LABEL: func.func @cache_update_mp_build(
// CHECK-SAME: %arg0: tensor<2x4x511x32xf32>, %arg1: tensor<2x4x511x32xf32>, %arg2: tensor<2x4x1x32xf32>, %arg3: tensor<2x4x1x32xf32>, %arg4: tensor<2xi32> {multipole.role = "lens"})
// CHECK-SAME: -> (tensor<2x4x34x32xbf16> {multipole.role = "L0.centroids"}
// CHECK-SAME: multipole.step = @cache_update
// CHECK: %[[BK0:.+]] = tensor.insert_slice %arg0 into
// CHECK: %[[BK:.+]] = tensor.insert_slice %arg2 into %[[BK0]]
// CHECK: %[[BV0:.+]] = tensor.insert_slice %arg1 into
// CHECK: %[[BV:.+]] = tensor.insert_slice %arg3 into %[[BV0]]
// CHECK: multipole.cluster_build %[[BK]], %[[BV]] lens %arg4 outs
// CHECK-LABEL: func.func @cache_update_mp_update(
// CHECK-SAME: %arg4: tensor<2xi32> {multipole.role = "lens"}, %arg5: tensor<2x4x34x32xbf16> {multipole.role = "L0.centroids"}
// CHECK: %[[UK:.+]] = tensor.insert_slice %arg2 into
// CHECK: %[[UV:.+]] = tensor.insert_slice %arg3 into
// CHECK-NEXT: multipole.cluster_update %[[UK]], %[[UV]] lens %arg4 outs(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11)

// OPT-LABEL: func.func @cache_update(
// OPT-SAME: %arg6: tensor<2x4x38x32xbf16> {multipole.role = "L0.centroids"}
// OPT-SAME: %arg9: tensor<2x4x39xi32> {multipole.role = "L0.offsets"}
// NOREP-LABEL: func.func @cache_update(
// NOREP-NOT: centroid_approx
// NOREP: multipole.merge %{{.+}}#0, %{{.+}}#1, %{{.+}}#2 outs
// CAP-LABEL: func.func @cache_update(
// CAP-SAME: %arg6: tensor<2x4x68x32xbf16> {multipole.role = "L0.centroids"}
// CAP-SAME: %arg9: tensor<2x4x69xi32> {multipole.role = "L0.offsets"}
func.func @cache_update(%q: tensor<2x4x32xf32>, %kc: tensor<2x4x511x32xf32>, %vc: tensor<2x4x511x32xf32>, %kn: tensor<2x4x1x32xf32>, %vn: tensor<2x4x1x32xf32>, %lens: tensor<2xi32>) -> tensor<2x4x32xf32> {
  %e = tensor.empty() : tensor<2x4x512x32xf32>
  %k0 = tensor.insert_slice %kc into %e[0, 0, 0, 0] [2, 4, 511, 32] [1, 1, 1, 1] : tensor<2x4x511x32xf32> into tensor<2x4x512x32xf32>
  %k = tensor.insert_slice %kn into %k0[0, 0, 511, 0] [2, 4, 1, 32] [1, 1, 1, 1] : tensor<2x4x1x32xf32> into tensor<2x4x512x32xf32>
  %v0 = tensor.insert_slice %vc into %e[0, 0, 0, 0] [2, 4, 511, 32] [1, 1, 1, 1] : tensor<2x4x511x32xf32> into tensor<2x4x512x32xf32>
  %v = tensor.insert_slice %vn into %v0[0, 0, 511, 0] [2, 4, 1, 32] [1, 1, 1, 1] : tensor<2x4x1x32xf32> into tensor<2x4x512x32xf32>
  %init = tensor.empty() : tensor<2x4x32xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init) : tensor<2x4x32xf32>, tensor<2x4x512x32xf32>, tensor<2x4x512x32xf32>, tensor<2xi32> outs tensor<2x4x32xf32> -> tensor<2x4x32xf32>
  return %o : tensor<2x4x32xf32>
}

// ---------------------------------------------------------------------------
// A function without decode_attention is left alone and gets no entry points.
// CHECK-LABEL: func.func @no_attention(%arg0: tensor<4xf32>) -> tensor<4xf32> {
// CHECK-NEXT: return %arg0 : tensor<4xf32>
// CHECK-NOT: @no_attention_mp_
func.func @no_attention(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
