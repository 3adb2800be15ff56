// The dialect's discardable attributes (multipole.entry, multipole.step on
// functions; multipole.role on their arguments and results) are verified.
// RUN: multipole-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @attn_mp_build
// CHECK-SAME: multipole.role = "k"
// CHECK-SAME: multipole.entry = "build", multipole.step = @attn
func.func @attn_mp_build(%k: memref<4xf32> {multipole.role = "k"}) -> (memref<4xf32> {multipole.role = "L0.centroids"})
    attributes {multipole.entry = "build", multipole.step = @attn} {
  return %k : memref<4xf32>
}

// -----

// expected-error @+1 {{'multipole.entry' must be "step", "build" or "update", got "prefill"}}
func.func @f() attributes {multipole.entry = "prefill"} {
  return
}

// -----

// expected-error @+1 {{'multipole.step' must name the decode step (a flat symbol reference), got "attn"}}
func.func @f() attributes {multipole.step = "attn"} {
  return
}

// -----

// expected-error @+1 {{'multipole.bf16_weights' must be a unit attribute on a multipole.centroid_approx}}
func.func @f() attributes {multipole.bf16_weights} {
  return
}

// -----

// expected-error @+1 {{'multipole.scores_in_select' must be a unit attribute on a multipole.centroid_score}}
func.func @f() attributes {multipole.scores_in_select} {
  return
}

// -----

// expected-error @+1 {{'multipole.role' belongs on function arguments and results, not on an operation}}
func.func @f() attributes {multipole.role = "q"} {
  return
}

// -----

// expected-error @+1 {{unknown multipole attribute 'multipole.rol' (expected 'multipole.entry', 'multipole.step', 'multipole.programmatic_launch', 'multipole.bf16_weights' or 'multipole.scores_in_select')}}
func.func @f() attributes {multipole.rol = "q"} {
  return
}

// -----

// expected-error @+1 {{'multipole.role' of argument #0 must be a non-empty string, got 3 : i64}}
func.func @f(%q: memref<4xf32> {multipole.role = 3}) {
  return
}

// -----

// expected-error @+1 {{unknown multipole attribute 'multipole.kind' on result #0 (expected 'multipole.role')}}
func.func @f(%q: memref<4xf32>) -> (memref<4xf32> {multipole.kind = "out"}) {
  return %q : memref<4xf32>
}

// -----

// expected-error @+1 {{'multipole.programmatic_launch' must be a unit attribute on a module}}
func.func @f() attributes {multipole.programmatic_launch} {
  return
}

// -----

// expected-error @+1 {{'multipole.programmatic_launch' must be a unit attribute on a module}}
module attributes {multipole.programmatic_launch = 1 : i32} {
}
