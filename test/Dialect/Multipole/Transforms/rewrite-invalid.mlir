// RUN: multipole-opt %s -split-input-file --multipole-rewrite -verify-diagnostics
// Invalid options are reported at the first decode_attention, as errors:
// RUN: not multipole-opt %s -split-input-file --multipole-rewrite="budget-fraction=1.5" 2>&1 | FileCheck %s --check-prefix=BF
// RUN: not multipole-opt %s -split-input-file --multipole-rewrite="fraction=0" 2>&1 | FileCheck %s --check-prefix=FR
// RUN: not multipole-opt %s -split-input-file --multipole-rewrite="budget-tokens=-5" 2>&1 | FileCheck %s --check-prefix=BT
// RUN: not multipole-opt %s -split-input-file --multipole-rewrite="coarse-fraction=1.0" 2>&1 | FileCheck %s --check-prefix=CF
// RUN: not multipole-opt %s -split-input-file --multipole-rewrite="interval=0" 2>&1 | FileCheck %s --check-prefix=IV
// RUN: not multipole-opt %s -split-input-file --multipole-rewrite="sink=64 budget-tokens=4" 2>&1 | FileCheck %s --check-prefix=SINK
// An empty value is an error (llvm::cl would read "budget-fraction=" as 0):
// RUN: not multipole-opt %s -split-input-file --multipole-rewrite="budget-fraction=" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not multipole-opt %s -split-input-file --pass-pipeline="builtin.module(multipole-rewrite{sink=4 fraction= interval=64})" 2>&1 | FileCheck %s --check-prefix=EMPTY2
// RUN: not multipole-opt %s -split-input-file --multipole-rewrite="rope-theta=inf" 2>&1 | FileCheck %s --check-prefix=THETA
// EMPTY: option 'budget-fraction' of multipole-rewrite has an empty value
// EMPTY2: option 'fraction' of multipole-rewrite has an empty value
// THETA: error: invalid multipole-rewrite option: rope_theta must be finite and >= 0 (0 disables RoPE), got INF

// BF: rewrite-invalid.mlir:[[@LINE+10]]:8: error: invalid multipole-rewrite option: budget_fraction must be in [0, 1), got 1.500000e+00
// FR: rewrite-invalid.mlir:[[@LINE+9]]:8: error: invalid multipole-rewrite option: cluster fraction must be in (0, 1), got 0.000000e+00
// BT: rewrite-invalid.mlir:[[@LINE+8]]:8: error: invalid multipole-rewrite option: budget must be >= 0 tokens, got -5
// CF: rewrite-invalid.mlir:[[@LINE+7]]:8: error: invalid multipole-rewrite option: cluster fraction must be in (0, 1), got 1.000000e+00
// IV: rewrite-invalid.mlir:[[@LINE+6]]:8: error: invalid multipole-rewrite option: interval must be >= 1, got 0
// SINK: rewrite-invalid.mlir:[[@LINE+5]]:8: error: sink (64 tokens) is larger than the KV cache (8 tokens)

// The sink (16 tokens by default) does not fit in an 8-token cache.
func.func @small(%q: tensor<1x8x64xbf16>, %k: tensor<1x2x8x64xbf16>, %v: tensor<1x2x8x64xbf16>, %lens: tensor<1xi32>, %init: tensor<1x8x64xbf16>) -> tensor<1x8x64xbf16> {
  // expected-error @+1 {{sink (16 tokens) is larger than the KV cache (8 tokens)}}
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init) : tensor<1x8x64xbf16>, tensor<1x2x8x64xbf16>, tensor<1x2x8x64xbf16>, tensor<1xi32> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
  return %o : tensor<1x8x64xbf16>
}

// -----

// The cluster index is sized from static shapes.
func.func @dynamic(%q: tensor<1x8x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>, %lens: tensor<1xi32>, %init: tensor<1x8x64xbf16>) -> tensor<1x8x64xbf16> {
  // expected-error @+1 {{multipole-rewrite needs static shapes to size the cluster index, got 'tensor<1x2x?x64xbf16>'}}
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init) : tensor<1x8x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1xi32> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
  return %o : tensor<1x8x64xbf16>
}

// -----

// A dynamic batch in the query only is also rejected.
func.func @dynamic_query(%q: tensor<?x8x64xbf16>, %k: tensor<1x2x1024x64xbf16>, %v: tensor<1x2x1024x64xbf16>, %lens: tensor<1xi32>, %init: tensor<?x8x64xbf16>) -> tensor<?x8x64xbf16> {
  // expected-error @+1 {{multipole-rewrite needs static shapes to size the cluster index, got 'tensor<?x8x64xbf16>'}}
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init) : tensor<?x8x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1xi32> outs tensor<?x8x64xbf16> -> tensor<?x8x64xbf16>
  return %o : tensor<?x8x64xbf16>
}

// -----

// One decode_attention per function: the second one is reported.
func.func @two_layers(%q: tensor<1x8x64xbf16>, %k: tensor<1x2x1024x64xbf16>, %v: tensor<1x2x1024x64xbf16>, %lens: tensor<1xi32>, %init: tensor<1x8x64xbf16>) -> tensor<1x8x64xbf16> {
  %o1 = multipole.decode_attention %q, %k, %v lens %lens outs(%init) : tensor<1x8x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1xi32> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
  // expected-error @+1 {{multipole-rewrite supports one multipole.decode_attention per function; split the layers into functions}}
  %o2 = multipole.decode_attention %o1, %k, %v lens %lens outs(%init) : tensor<1x8x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1xi32> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
  return %o2 : tensor<1x8x64xbf16>
}

// -----

// The KV cache must come from the arguments through region-free ops.
func.func @control_flow(%q: tensor<1x8x64xbf16>, %k0: tensor<1x2x1024x64xbf16>, %k1: tensor<1x2x1024x64xbf16>, %v: tensor<1x2x1024x64xbf16>, %lens: tensor<1xi32>, %init: tensor<1x8x64xbf16>, %c: i1) -> tensor<1x8x64xbf16> {
  %k = scf.if %c -> tensor<1x2x1024x64xbf16> {
    scf.yield %k0 : tensor<1x2x1024x64xbf16>
  } else {
    scf.yield %k1 : tensor<1x2x1024x64xbf16>
  }
  // expected-error @+1 {{the KV cache must be computed from function arguments without control flow; found 'scf.if'}}
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init) : tensor<1x8x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1xi32> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
  return %o : tensor<1x8x64xbf16>
}

// -----

func.func @multi_block(%q: tensor<1x8x64xbf16>, %k: tensor<1x2x1024x64xbf16>, %v: tensor<1x2x1024x64xbf16>, %lens: tensor<1xi32>, %init: tensor<1x8x64xbf16>) -> tensor<1x8x64xbf16> {
  // expected-error @+1 {{multipole-rewrite expects a single-block function}}
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init) : tensor<1x8x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1xi32> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
  cf.br ^bb1
^bb1:
  return %o : tensor<1x8x64xbf16>
}
