// upstream-parser
// multipole-fuzz path: gpu-conversion
// rewrite-options: block-size=1.0
// gpu-options: 
// reproduce: multipole-opt --pass-pipeline='builtin.module(one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},drop-equivalent-buffer-results,multipole-drop-aliasing-results,multipole-distinct-results,multipole-transpose-views,buffer-results-to-out-params{hoist-static-allocs modify-public-functions},buffer-deallocation-pipeline,multipole-gpu-plan,convert-multipole-to-gpu{},multipole-gpu-programmatic-launch{})' FILE
// RUN: multipole-opt %s | multipole-opt | FileCheck %s
// RUN: multipole-opt %s -mlir-print-op-generic | multipole-opt | FileCheck %s

// Round trip of every multipole op, on tensors (with results) and on memrefs
// (no results), and of the #multipole.config / #multipole.level attributes.
// The second RUN line goes through the generic form, which exercises the
// operandSegmentSizes of the ops with optional / variadic operand groups.

// Configurations are printed as `#mp_config` aliases; the float knobs are
// printed in exponent form.
// CHECK-DAG: #[[CFG:mp_config[0-9]*]] = #multipole.config<levels = [#multipole.level<fraction = 6.250000e-02, budget_fraction = 1.000000e-01>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.000000e+00, replacement = true>{{$}}
// CHECK-DAG: #[[CFG2:mp_config[0-9]*]] = #multipole.config<levels = [#multipole.level<fraction = 1.250000e-01, budget_tokens = 64>, #multipole.level<fraction = 2.500000e-01, budget_fraction = 5.000000e-01>], sink = 4, interval = 32, block_size = 256, build_iters = 5, update_iters = 2, score_position = 100, rope_theta = 1.000000e+04, replacement = false>{{$}}

// Index arrays of level 0 (B = 2, Hkv = 2, C = 18, D = 64, N = 256) and of a
// coarse level 1 (C = 6 over the 18 fine clusters).
!c0 = tensor<2x2x18x64xf32>
!n0 = tensor<2x2x18xi32>
!o0 = tensor<2x2x19xi32>
!m0 = tensor<2x2x256xi32>
!s0 = tensor<2x2x4xi32>
!c1 = tensor<2x2x6x64xf32>
!n1 = tensor<2x2x6xi32>
!o1 = tensor<2x2x7xi32>
!m1 = tensor<2x2x18xi32>
!mc0 = memref<2x2x18x64xf32>
!mn0 = memref<2x2x18xi32>
!mo0 = memref<2x2x19xi32>
!mm0 = memref<2x2x256xi32>
!ms0 = memref<2x2x4xi32>
!mc1 = memref<2x2x6x64xf32>
!mn1 = memref<2x2x6xi32>
!mo1 = memref<2x2x7xi32>
!mm1 = memref<2x2x18xi32>

#cfg = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>
#cfg2 = #multipole.config<levels = [#multipole.level<fraction = 0.125, budget_tokens = 64>, #multipole.level<fraction = 0.25, budget_fraction = 0.5>], sink = 4, interval = 32, block_size = 256, build_iters = 5, update_iters = 2, score_position = 100, rope_theta = 10000.0, replacement = false>

// Level attributes are not aliased; parameters print in declaration order
// (fraction first) whatever order they were written in.
// CHECK-LABEL: func.func @attributes()
// CHECK-SAME: mp.config = #[[CFG]], mp.config2 = #[[CFG2]]
// CHECK-SAME: mp.level_fraction = #multipole.level<fraction = 5.000000e-01, budget_fraction = 0.000000e+00>
// CHECK-SAME: mp.level_tokens = #multipole.level<fraction = 6.250000e-02, budget_tokens = 4096>}
func.func @attributes() attributes {
    mp.config = #cfg, mp.config2 = #cfg2,
    mp.level_tokens = #multipole.level<fraction = 0.0625, budget_tokens = 4096>,
    mp.level_fraction = #multipole.level<budget_fraction = 0.0, fraction = 0.5>} {
  return
}

// CHECK-LABEL: func.func @decode_attention_bf16(
// CHECK-NEXT: %[[R:[0-9]+]] = multipole.decode_attention %arg0, %arg1, %arg2 lens %arg3 outs(%arg4) {scale = 1.250000e-01 : f32}
// CHECK-SAME: : tensor<2x8x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2xi32> outs tensor<2x8x64xbf16> -> tensor<2x8x64xbf16>{{$}}
// CHECK-NEXT: return %[[R]] : tensor<2x8x64xbf16>
func.func @decode_attention_bf16(%q: tensor<2x8x64xbf16>, %k: tensor<2x2x256x64xbf16>, %v: tensor<2x2x256x64xbf16>, %lens: tensor<2xi32>, %o: tensor<2x8x64xbf16>) -> tensor<2x8x64xbf16> {
  %r = multipole.decode_attention %q, %k, %v lens %lens outs(%o) {scale = 0.125 : f32} : tensor<2x8x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2xi32> outs tensor<2x8x64xbf16> -> tensor<2x8x64xbf16>
  return %r : tensor<2x8x64xbf16>
}

// CHECK-LABEL: func.func @decode_attention_f16_nolens(
// CHECK-NEXT: %[[R:[0-9]+]] = multipole.decode_attention %arg0, %arg1, %arg2 outs(%arg3)
// CHECK-SAME: : tensor<1x4x32xf16>, tensor<1x4x100x32xf16>, tensor<1x4x100x32xf16> outs tensor<1x4x32xf16> -> tensor<1x4x32xf16>{{$}}
// CHECK-NEXT: return %[[R]] : tensor<1x4x32xf16>
func.func @decode_attention_f16_nolens(%q: tensor<1x4x32xf16>, %k: tensor<1x4x100x32xf16>, %v: tensor<1x4x100x32xf16>, %o: tensor<1x4x32xf16>) -> tensor<1x4x32xf16> {
  %r = multipole.decode_attention %q, %k, %v outs(%o) : tensor<1x4x32xf16>, tensor<1x4x100x32xf16>, tensor<1x4x100x32xf16> outs tensor<1x4x32xf16> -> tensor<1x4x32xf16>
  return %r : tensor<1x4x32xf16>
}

// CHECK-LABEL: func.func @decode_attention_f32_dynamic(
// CHECK-NEXT: %[[R:[0-9]+]] = multipole.decode_attention %arg0, %arg1, %arg2 lens %arg3 outs(%arg4) {scale = 2.500000e-01 : f32}
// CHECK-SAME: : tensor<?x6x16xf32>, tensor<?x3x?x16xf32>, tensor<?x3x?x16xf32>, tensor<?xi32> outs tensor<?x6x16xf32> -> tensor<?x6x16xf32>{{$}}
// CHECK-NEXT: return %[[R]] : tensor<?x6x16xf32>
func.func @decode_attention_f32_dynamic(%q: tensor<?x6x16xf32>, %k: tensor<?x3x?x16xf32>, %v: tensor<?x3x?x16xf32>, %lens: tensor<?xi32>, %o: tensor<?x6x16xf32>) -> tensor<?x6x16xf32> {
  %r = multipole.decode_attention %q, %k, %v lens %lens outs(%o) {scale = 2.5e-01 : f32} : tensor<?x6x16xf32>, tensor<?x3x?x16xf32>, tensor<?x3x?x16xf32>, tensor<?xi32> outs tensor<?x6x16xf32> -> tensor<?x6x16xf32>
  return %r : tensor<?x6x16xf32>
}

// CHECK-LABEL: func.func @decode_attention_memref(
// CHECK-NEXT: multipole.decode_attention %arg0, %arg1, %arg2 lens %arg3 outs(%arg4)
// CHECK-SAME: : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>{{$}}
// CHECK-NEXT: return{{$}}
func.func @decode_attention_memref(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o: memref<2x8x64xbf16>) {
  multipole.decode_attention %q, %k, %v lens %lens outs(%o) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// CHECK-LABEL: func.func @decode_attention_memref_nolens_strided(
// CHECK-NEXT: multipole.decode_attention %arg0, %arg1, %arg2 outs(%arg3) {scale = 1.000000e+00 : f32}
// CHECK-SAME: : memref<1x4x32xf32, strided<[?, ?, 1], offset: ?>>, memref<1x4x100x32xf32>, memref<1x4x100x32xf32> outs memref<1x4x32xf32>{{$}}
// CHECK-NEXT: return{{$}}
func.func @decode_attention_memref_nolens_strided(%q: memref<1x4x32xf32, strided<[?, ?, 1], offset: ?>>, %k: memref<1x4x100x32xf32>, %v: memref<1x4x100x32xf32>, %o: memref<1x4x32xf32>) {
  multipole.decode_attention %q, %k, %v outs(%o) {scale = 1.0 : f32} : memref<1x4x32xf32, strided<[?, ?, 1], offset: ?>>, memref<1x4x100x32xf32>, memref<1x4x100x32xf32> outs memref<1x4x32xf32>
  return
}

// CHECK-LABEL: func.func @cluster_build(
// CHECK-NEXT: %[[R:[0-9]+]]:7 = multipole.cluster_build %arg0, %arg1 lens %arg2 outs(%arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9) {config = #[[CFG]]}
// CHECK-SAME: : tensor<2x2x256x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2xi32> outs tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32> -> tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>{{$}}
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1, %[[R]]#2, %[[R]]#3, %[[R]]#4, %[[R]]#5, %[[R]]#6 : tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>
func.func @cluster_build(%k: tensor<2x2x256x64xbf16>, %v: tensor<2x2x256x64xbf16>, %lens: tensor<2xi32>, %c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0) -> (!c0, !c0, !n0, !o0, !m0, !m0, !s0) {
  %i:7 = multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #cfg} : tensor<2x2x256x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2xi32> outs !c0, !c0, !n0, !o0, !m0, !m0, !s0 -> !c0, !c0, !n0, !o0, !m0, !m0, !s0
  return %i#0, %i#1, %i#2, %i#3, %i#4, %i#5, %i#6 : !c0, !c0, !n0, !o0, !m0, !m0, !s0
}

// CHECK-LABEL: func.func @cluster_build_memref(
// CHECK-NEXT: multipole.cluster_build %arg0, %arg1 lens %arg2 outs(%arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9) {config = #[[CFG2]]}
// CHECK-SAME: : memref<2x2x256x64xf16>, memref<2x2x256x64xf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>{{$}}
// CHECK-NEXT: return{{$}}
func.func @cluster_build_memref(%k: memref<2x2x256x64xf16>, %v: memref<2x2x256x64xf16>, %lens: memref<2xi32>, %c: !mc0, %vc: !mc0, %n: !mn0, %off: !mo0, %mem: !mm0, %asg: !mm0, %st: !ms0) {
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #cfg2} : memref<2x2x256x64xf16>, memref<2x2x256x64xf16>, memref<2xi32> outs !mc0, !mc0, !mn0, !mo0, !mm0, !mm0, !ms0
  return
}

// CHECK-LABEL: func.func @cluster_update(
// CHECK-NEXT: %[[R:[0-9]+]]:7 = multipole.cluster_update %arg0, %arg1 lens %arg2 outs(%arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9) {config = #[[CFG]]}
// CHECK-SAME: : tensor<2x2x256x64xf32>, tensor<2x2x256x64xf32>, tensor<2xi32> outs tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32> -> tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>{{$}}
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1, %[[R]]#2, %[[R]]#3, %[[R]]#4, %[[R]]#5, %[[R]]#6 : tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>
func.func @cluster_update(%k: tensor<2x2x256x64xf32>, %v: tensor<2x2x256x64xf32>, %lens: tensor<2xi32>, %c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0) -> (!c0, !c0, !n0, !o0, !m0, !m0, !s0) {
  %i:7 = multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #cfg} : tensor<2x2x256x64xf32>, tensor<2x2x256x64xf32>, tensor<2xi32> outs !c0, !c0, !n0, !o0, !m0, !m0, !s0 -> !c0, !c0, !n0, !o0, !m0, !m0, !s0
  return %i#0, %i#1, %i#2, %i#3, %i#4, %i#5, %i#6 : !c0, !c0, !n0, !o0, !m0, !m0, !s0
}

// CHECK-LABEL: func.func @cluster_update_memref(
// CHECK-NEXT: multipole.cluster_update %arg0, %arg1 lens %arg2 outs(%arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9) {config = #[[CFG]]}
// CHECK-SAME: : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>{{$}}
// CHECK-NEXT: return{{$}}
func.func @cluster_update_memref(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: !mc0, %vc: !mc0, %n: !mn0, %off: !mo0, %mem: !mm0, %asg: !mm0, %st: !ms0) {
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #cfg} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs !mc0, !mc0, !mn0, !mo0, !mm0, !mm0, !ms0
  return
}

// CHECK-LABEL: func.func @cluster_coarsen(
// CHECK-NEXT: %[[R:[0-9]+]]:7 = multipole.cluster_coarsen fine(%arg0, %arg1, %arg2, %arg3, %arg4, %arg5, %arg6) outs(%arg7, %arg8, %arg9, %arg10, %arg11, %arg12, %arg13) {config = #[[CFG2]], level = 1 : i64}
// CHECK-SAME: : tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32> outs tensor<2x2x6x64xf32>, tensor<2x2x6x64xf32>, tensor<2x2x6xi32>, tensor<2x2x7xi32>, tensor<2x2x18xi32>, tensor<2x2x18xi32>, tensor<2x2x4xi32> -> tensor<2x2x6x64xf32>, tensor<2x2x6x64xf32>, tensor<2x2x6xi32>, tensor<2x2x7xi32>, tensor<2x2x18xi32>, tensor<2x2x18xi32>, tensor<2x2x4xi32>{{$}}
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1, %[[R]]#2, %[[R]]#3, %[[R]]#4, %[[R]]#5, %[[R]]#6 : tensor<2x2x6x64xf32>, tensor<2x2x6x64xf32>, tensor<2x2x6xi32>, tensor<2x2x7xi32>, tensor<2x2x18xi32>, tensor<2x2x18xi32>, tensor<2x2x4xi32>
func.func @cluster_coarsen(%c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0, %c1: !c1, %vc1: !c1, %n1: !n1, %off1: !o1, %mem1: !m1, %asg1: !m1, %st1: !s0) -> (!c1, !c1, !n1, !o1, !m1, !m1, !s0) {
  %i:7 = multipole.cluster_coarsen fine(%c, %vc, %n, %off, %mem, %asg, %st) outs(%c1, %vc1, %n1, %off1, %mem1, %asg1, %st1) {config = #cfg2, level = 1 : i64} : !c0, !c0, !n0, !o0, !m0, !m0, !s0 outs !c1, !c1, !n1, !o1, !m1, !m1, !s0 -> !c1, !c1, !n1, !o1, !m1, !m1, !s0
  return %i#0, %i#1, %i#2, %i#3, %i#4, %i#5, %i#6 : !c1, !c1, !n1, !o1, !m1, !m1, !s0
}

// CHECK-LABEL: func.func @cluster_coarsen_memref(
// CHECK-NEXT: multipole.cluster_coarsen fine(%arg0, %arg1, %arg2, %arg3, %arg4, %arg5, %arg6) outs(%arg7, %arg8, %arg9, %arg10, %arg11, %arg12, %arg13) {config = #[[CFG2]], level = 1 : i64}
// CHECK-SAME: : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>{{$}}
// CHECK-NEXT: return{{$}}
func.func @cluster_coarsen_memref(%c: !mc0, %vc: !mc0, %n: !mn0, %off: !mo0, %mem: !mm0, %asg: !mm0, %st: !ms0, %c1: !mc1, %vc1: !mc1, %n1: !mn1, %off1: !mo1, %mem1: !mm1, %asg1: !mm1, %st1: !ms0) {
  multipole.cluster_coarsen fine(%c, %vc, %n, %off, %mem, %asg, %st) outs(%c1, %vc1, %n1, %off1, %mem1, %asg1, %st1) {config = #cfg2, level = 1 : i64} : !mc0, !mc0, !mn0, !mo0, !mm0, !mm0, !ms0 outs !mc1, !mc1, !mn1, !mo1, !mm1, !mm1, !ms0
  return
}

// CHECK-LABEL: func.func @centroid_score(
// CHECK-NEXT: %[[R:[0-9]+]]:2 = multipole.centroid_score %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) lens %arg8 outs(%arg9, %arg10) {config = #[[CFG]], level = 0 : i64, scale = 5.000000e-01 : f32}
// CHECK-SAME: : tensor<2x8x64xbf16>, index(tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tens<2x4x1000x128xbf16>
  %kt = linalg.transpose ins(%k : tensor<2x1000x4x128xbf16>) outs(%k0 : tensor<2x4x1000x128xbf16>) permutation = or<2x2x256xi32>, tensor<2x2x4xi32>), tensor<2xi32> outs tensor<2x2x18xf32>, tensor<2x8x18xf32> -> tensor<2x2x18xf32>, tensor<2x8x18xf32>{{$}}
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1 : tensor<2x2x18xf32>, tensor<2x8x18xf32>
func.func @centroid_score(%q: tensor<2x8x64xbf16>, %c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0, %lens: tensor<2xi32>, %r: tensor<2x2x18xf32>, %a: tensor<2x8x18xf32>) -> (tensor<2x2x18xf32>, tensor<2x8x18xf32>) {
  %r1, %a1 = multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%r, %a) {config = #cfg, level = 0 : i64, scale = 0.5 : f32} : tensor<2x8x64xbf16>, index(!c0, !c0, !n0, !o0, !m0, !m0, !s0), tensor<2xi32> outs tensor<2x2x18xf32>, tensor<2x8x18xf32> -> tensor<2x2x18xf32>, tensor<2x8x18xf32>
  return %r1, %a1 : tensor<2x2x18xf32>, tensor<2x8x18xf32>
}

// CHECK-LABEL: func.func @centroid_score_memref(
// CHECK-NEXT: multipole.centroid_score %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) lens %arg8 outs(%arg9, %arg10) {config = #[[CFG2]], level = 1 : i64}
// CHECK-SAME: : memref<2x8x64xf16>, index(memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x6xf32>, memref<2x8x6xf32>{{$}}
// CHECK-NEXT: return{{$}}
func.func @centroid_score_memref(%q: memref<2x8x64xf16>, %c: !mc1, %vc: !mc1, %n: !mn1, %off: !mo1, %mem: !mm1, %asg: !mm1, %st: !ms0, %lens: memref<2xi32>, %r: memref<2x2x6xf32>, %a: memref<2x8x6xf32>) {
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%r, %a) {config = #cfg2, level = 1 : i64} : memref<2x8x64xf16>, index(!mc1, !mc1, !mn1, !mo1, !mm1, !mm1, !ms0), memref<2xi32> outs memref<2x2x6xf32>, memref<2x8x6xf32>
  return
}

// CHECK-LABEL: func.func @select_clusters(
// CHECK-NEXT: %[[R:[0-9]+]] = multipole.select_clusters %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) outs(%arg8) {config = #[[CFG]], level = 0 : i64}
// CHECK-SAME: : tensor<2x2x18xf32>, index(tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>) outs tensor<2x2x18xi8> -> tensor<2x2x18xi8>{{$}}
// CHECK-NEXT: return %[[R]] : tensor<2x2x18xi8>
func.func @select_clusters(%r: tensor<2x2x18xf32>, %c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0, %s: tensor<2x2x18xi8>) -> tensor<2x2x18xi8> {
  %sel = multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%s) {config = #cfg, level = 0 : i64} : tensor<2x2x18xf32>, index(!c0, !c0, !n0, !o0, !m0, !m0, !s0) outs tensor<2x2x18xi8> -> tensor<2x2x18xi8>
  return %sel : tensor<2x2x18xi8>
}

// CHECK-LABEL: func.func @select_clusters_parent(
// CHECK-NEXT: %[[R:[0-9]+]] = multipole.select_clusters %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) parent(%arg8, %arg9 : tensor<2x2x18xi32>, tensor<2x2x6xi8>) outs(%arg10) {config = #[[CFG2]], level = 0 : i64}
// CHECK-SAME: : tensor<2x2x18xf32>, index(tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>) outs tensor<2x2x18xi8> -> tensor<2x2x18xi8>{{$}}
// CHECK-NEXT: return %[[R]] : tensor<2x2x18xi8>
func.func @select_clusters_parent(%r: tensor<2x2x18xf32>, %c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0, %pa: tensor<2x2x18xi32>, %ps: tensor<2x2x6xi8>, %s: tensor<2x2x18xi8>) -> tensor<2x2x18xi8> {
  %sel = multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) parent(%pa, %ps : tensor<2x2x18xi32>, tensor<2x2x6xi8>) outs(%s) {config = #cfg2, level = 0 : i64} : tensor<2x2x18xf32>, index(!c0, !c0, !n0, !o0, !m0, !m0, !s0) outs tensor<2x2x18xi8> -> tensor<2x2x18xi8>
  return %sel : tensor<2x2x18xi8>
}

// CHECK-LABEL: func.func @select_clusters_memref(
// CHECK-NEXT: multipole.select_clusters %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) outs(%arg10) {config = #[[CFG]], level = 0 : i64}
// CHECK-SAME: : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>{{$}}
// CHECK-NEXT: multipole.select_clusters %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) parent(%arg8, %arg9 : memref<2x2x18xi32>, memref<2x2x6xi8>) outs(%arg10) {config = #[[CFG2]], level = 0 : i64}
// CHECK-SAME: : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>{{$}}
// CHECK-NEXT: return{{$}}
func.func @select_clusters_memref(%r: memref<2x2x18xf32>, %c: !mc0, %vc: !mc0, %n: !mn0, %off: !mo0, %mem: !mm0, %asg: !mm0, %st: !ms0, %pa: memref<2x2x18xi32>, %ps: memref<2x2x6xi8>, %s: memref<2x2x18xi8>) {
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%s) {config = #cfg, level = 0 : i64} : memref<2x2x18xf32>, index(!mc0, !mc0, !mn0, !mo0, !mm0, !mm0, !ms0) outs memref<2x2x18xi8>
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) parent(%pa, %ps : memref<2x2x18xi32>, memref<2x2x6xi8>) outs(%s) {config = #cfg2, level = 0 : i64} : memref<2x2x18xf32>, index(!mc0, !mc0, !mn0, !mo0, !mm0, !mm0, !ms0) outs memref<2x2x18xi8>
  return
}

// CHECK-LABEL: func.func @sparse_attention(
// CHECK-NEXT: %[[R:[0-9]+]]:3 = multipole.s(parse_attention %arg0, %arg1, %arg2 lens %arg3 index(%arg4, %arg5, %arg6, %arg7, %arg8, %arg9, %arg10) selected %arg11 outs(%arg12, %arg13, %arg14) {config = #[[CFG]], scale = 1.250000e-01 : f32}
// CHECK-SAME: : tensor<2x8x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2xi32>, index(tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>), tensor<2x2x18xi8> outs tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>{{$}}
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1, %[[R]]#2 : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
func.func @sparse_attention(%q: tensor<2x8x64xbf16>, %k: tensor<2x2x256x64xbf16>, %v: tensor<2x2x256x64xbf16>, %lens: tensor<2xi32>, %c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0, %sel: tensor<2x2x18xi8>, %acc: tensor<2x8x64xf32>, %m: tensor<2x8xf32>, %l: tensor<2x8xf32>) -> (tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %p:3 = multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%acc, %m, %l) {config = #cfg, scale = 0.125 : f32} : tensor<2x8x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2xi32>, index(!c0, !c0, !n0, !o0, !m0, !m0, !s0), tensor<2x2x18xi8> outs tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
  return %p#0, %p#1, %p#2 : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// CHECK-LABEL: func.func @sparse_attention_memref(
// CHECK-NEXT: multipole.sparse_attention %arg0, %arg1, %arg2 lens %arg3 index(%arg4, %arg5, %arg6, %arg7, %arg8, %arg9, %arg10) selected %arg11 outs(%arg12, %arg13, %arg14) {config = #[[CFG]]}
// CHECK-SAME: : memref<2x8x64xf32>, memref<2x2x256x64xf32>, memref<2x2x256x64xf32>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>{{$}}
// CHECK-NEXT: return{{$}}
func.func @sparse_attention_memref(%q: memref<2x8x64xf32>, %k: memref<2x2x256x64xf32>, %v: memref<2x2x256x64xf32>, %lens: memref<2xi32>, %c: !mc0, %vc: !mc0, %n: !mn0, %off: !mo0, %mem: !mm0, %asg: !mm0, %st: !ms0, %sel: memref<2x2x18xi8>, %acc: memref<2x8x64xf32>, %m: memref<2x8xf32>, %l: memref<2x8xf32>) {
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%acc, %m, %l) {config = #cfg} : memref<2x8x64xf32>, memref<2x2x256x64xf32>, memref<2x2x256x64xf32>, memref<2xi32>, index(!mc0, !mc0, !mn0, !mo0, !mm0, !mm0, !ms0), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// CHECK-LABEL: func.func @centroid_approx(
// CHECK-NEXT: %[[R:[0-9]+]]:3 = multipole.centroid_approx %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) selected %arg8 outs(%arg9, %arg10, %arg11) {level = 0 : i64}
// CHECK-SAME: : tensor<2x8x18xf32>, index(tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>), tensor<2x2x18xi8> outs tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>{{$}}
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1, %[[R]]#2 : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
func.func @centroid_approx(%a: tensor<2x8x18xf32>, %c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0, %sel: tensor<2x2x18xi8>, %acc: tensor<2x8x64xf32>, %m: tensor<2x8xf32>, %l: tensor<2x8xf32>) -> (tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %p:3 = multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%acc, %m, %l) {level = 0 : i64} : tensor<2x8x18xf32>, index(!c0, !c0, !n0, !o0, !m0, !m0, !s0), tensor<2x2x18xi8> outs tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
  return %p#0, %p#1, %p#2 : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// CHECK-LABEL: func.func @centroid_approx_parent(
// CHECK-NEXT: %[[R:[0-9]+]]:3 = multipole.centroid_approx %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) selected %arg8 parent(%arg9, %arg10 : tensor<2x2x18xi32>, tensor<2x2x6xi8>) outs(%arg11, %arg12, %arg13) {level = 0 : i64}
// CHECK-SAME: : tensor<2x8x18xf32>, index(tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>), tensor<2x2x18xi8> outs tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>{{$}}
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1, %[[R]]#2 : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
func.func @centroid_approx_parent(%a: tensor<2x8x18xf32>, %c: !c0, %vc: !c0, %n: !n0, %off: !o0, %mem: !m0, %asg: !m0, %st: !s0, %sel: tensor<2x2x18xi8>, %pa: tensor<2x2x18xi32>, %ps: tensor<2x2x6xi8>, %acc: tensor<2x8x64xf32>, %m: tensor<2x8xf32>, %l: tensor<2x8xf32>) -> (tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %p:3 = multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel parent(%pa, %ps : tensor<2x2x18xi32>, tensor<2x2x6xi8>) outs(%acc, %m, %l) {level = 0 : i64} : tensor<2x8x18xf32>, index(!c0, !c0, !n0, !o0, !m0, !m0, !s0), tensor<2x2x18xi8> outs tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
  return %p#0, %p#1, %p#2 : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// CHECK-LABEL: func.func @centroid_approx_memref(
// CHECK-NEXT: multipole.centroid_approx %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) selected %arg8 outs(%arg11, %arg12, %arg13) {level = 1 : i64}
// CHECK-SAME: : memref<2x8x6xf32>, index(memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>), memref<2x2x6xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>{{$}}
// CHECK-NEXT: multipole.centroid_approx %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) selected %arg8 parent(%arg9, %arg10 : memref<2x2x6xi32>, memref<2x2x3xi8>) outs(%arg11, %arg12, %arg13) {level = 1 : i64}
// CHECK-SAME: : memref<2x8x6xf32>, index(memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>), memref<2x2x6xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>{{$}}
// CHECK-NEXT: return{{$}}
func.func @centroid_approx_memref(%a: memref<2x8x6xf32>, %c: !mc1, %vc: !mc1, %n: !mn1, %off: !mo1, %mem: !mm1, %asg: !mm1, %st: !ms0, %sel: memref<2x2x6xi8>, %pa: memref<2x2x6xi32>, %ps: memref<2x2x3xi8>, %acc: memref<2x8x64xf32>, %m: memref<2x8xf32>, %l: memref<2x8xf32>) {
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%acc, %m, %l) {level = 1 : i64} : memref<2x8x6xf32>, index(!mc1, !mc1, !mn1, !mo1, !mm1, !mm1, !ms0), memref<2x2x6xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel parent(%pa, %ps : memref<2x2x6xi32>, memref<2x2x3xi8>) outs(%acc, %m, %l) {level = 1 : i64} : memref<2x8x6xf32>, index(!mc1, !mc1, !mn1, !mo1, !mm1, !mm1, !ms0), memref<2x2x6xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// CHECK-LABEL: func.func @merge2(
// CHECK-NEXT: %[[R:[0-9]+]] = multipole.merge %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 outs(%arg6)
// CHECK-SAME: : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> outs tensor<2x8x64xbf16> -> tensor<2x8x64xbf16>{{$}}
// CHECK-NEXT: return %[[R]] : tensor<2x8x64xbf16>
func.func @merge2(%acc0: tensor<2x8x64xf32>, %m0: tensor<2x8xf32>, %l0: tensor<2x8xf32>, %acc1: tensor<2x8x64xf32>, %m1: tensor<2x8xf32>, %l1: tensor<2x8xf32>, %o: tensor<2x8x64xbf16>) -> tensor<2x8x64xbf16> {
  %r = multipole.merge %acc0, %m0, %l0, %acc1, %m1, %l1 outs(%o) : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> outs tensor<2x8x64xbf16> -> tensor<2x8x64xbf16>
  return %r : tensor<2x8x64xbf16>
}

// CHECK-LABEL: func.func @merge3(
// CHECK-NEXT: %[[R:[0-9]+]] = multipole.merge %arg0, %arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7, %arg8 outs(%arg9)
// CHECK-SAME: : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> outs tensor<2x8x64xf16> -> tensor<2x8x64xf16>{{$}}
// CHECK-NEXT: return %[[R]] : tensor<2x8x64xf16>
func.func @merge3(%acc0: tensor<2x8x64xf32>, %m0: tensor<2x8xf32>, %l0: tensor<2x8xf32>, %acc1: tensor<2x8x64xf32>, %m1: tensor<2x8xf32>, %l1: tensor<2x8xf32>, %acc2: tensor<2x8x64xf32>, %m2: tensor<2x8xf32>, %l2: tensor<2x8xf32>, %o: tensor<2x8x64xf16>) -> tensor<2x8x64xf16> {
  %r = multipole.merge %acc0, %m0, %l0, %acc1, %m1, %l1, %acc2, %m2, %l2 outs(%o) : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> outs tensor<2x8x64xf16> -> tensor<2x8x64xf16>
  return %r : tensor<2x8x64xf16>
}
    %sa: memref<2x8x4x64xf32>, %sm: memref<2x8x4xf32>, %sl: memref<2x8x4xf32>,
// CHECK-LABEL: func.func @merge_memref(
// CHECK-NEXT: multipole.merge %arg0, %arg1, %arg2, %arg3, %arg4, %arg5 outs(%arg6)
// CHECK-SAME: : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x64xf32>{{$}}
// CHECK-NEXT: return{{$}}
func.func @merge_memref(%acc0: memref<2x8x64xf32>, %m0: memref<2x8xf32>, %l0: memref<2x8xf32>, %acc1: memref<2x8x64xf32>, %m1: memref<2x8xf32>, %l1: memref<2x8xf32>, %o: memref<2x8x64xf32>) {
  multipole.merge %acc0, %m0, %l0, %acc1, %m1, %l1 outs(%o) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x64xf32>
  return
}

// The GPU plan's forms (multipole-gpu-plan, memrefs only): chunk bases as the
// selection's second output and the exact part's operand; split partials
// written by the exact part and the approximation and read by the merge.
// CHECK-LABEL: func.func @gpu_plan_forms(
// CHECK: multipole.select_clusters %arg0 index(%arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7) outs(%arg12, %arg13) {config = #[[CFG]], level = 0 : i64} : memref<2x2x18xf32>, index({{.*}}) outs memref<2x2x18xi8>, memref<2x2x1025xi32>
// CHECK: multipole.sparse_attention %arg8, %arg9, %arg10 lens %arg11 index({{.*}}) selected %arg12 chunk_bases(%arg13 : memref<2x2x1025xi32>) outs(%arg14, %arg15, %arg16) {config = #[[CFG]]} : {{.*}} outs memref<2x8x4x64xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>
// CHECK: multipole.merge %arg14, %arg15, %arg16, %arg17, %arg18, %arg19 outs(%arg20) : memref<2x8x4x64xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x64xbf16>
func.func @gpu_plan_forms(%r: memref<2x2x18xf32>, %c: !mc0, %vc: !mc0, %n: !mn0, %off: !mo0, %mem: !mm0, %asg: !mm0, %st: !ms0,
    %q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>,
    %sel: memref<2x2x18xi8>, %cb: memref<2x2x1025xi32>,

    %pa: memref<2x8x64xf32>, %pm: memref<2x8xf32>, %pl: memref<2x8xf32>, %o: memref<2x8x64xbf16>) {
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%sel, %cb) {config = #cfg, level = 0 : i64} : memref<2x2x18xf32>, index(!mc0, !mc0, !mn0, !mo0, !mm0, !mm0, !ms0) outs memref<2x2x18xi8>, memref<2x2x1025xi32>
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel chunk_bases(%cb : memref<2x2x1025xi32>) outs(%sa, %sm, %sl) {config = #cfg} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(!mc0, !mc0, !mn0, !mo0, !mm0, !mm0, !ms0), memref<2x2x18xi8> outs memref<2x8x4x64xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>
  multipole.merge %sa, %sm, %sl, %pa, %pm, %pl outs(%o) : memref<2x8x4x64xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x64xbf16>
  return
}
