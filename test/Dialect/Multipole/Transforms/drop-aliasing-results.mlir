// RUN: multipole-opt %s --multipole-drop-aliasing-results | FileCheck %s

// Results of `multipole.entry` functions that return one of the function's own
// memref arguments are dropped (the caller's buffer is updated in place).

// CHECK-LABEL: func.func @update_in_place(
// CHECK-SAME: %arg0: memref<1x2x1024x64xbf16>, %arg1: memref<1xi32>, %arg2: memref<1x2x66x64xf32> {multipole.role = "L0.centroids"}, %arg3: memref<1x2x4xi32> {multipole.role = "L0.state"})
// CHECK-SAME: attributes {multipole.entry = "update"} {
// CHECK-NEXT: return{{$}}
func.func @update_in_place(%k: memref<1x2x1024x64xbf16>, %lens: memref<1xi32>, %c: memref<1x2x66x64xf32> {multipole.role = "L0.centroids"}, %st: memref<1x2x4xi32> {multipole.role = "L0.state"}) -> (memref<1x2x66x64xf32> {multipole.role = "L0.centroids"}, memref<1x2x4xi32> {multipole.role = "L0.state"}) attributes {multipole.entry = "update"} {
  return %c, %st : memref<1x2x66x64xf32>, memref<1x2x4xi32>
}

// Only the aliasing results go; a freshly allocated one stays, with its
// result attributes.
// CHECK-LABEL: func.func @mixed(
// CHECK-SAME: %arg0: memref<4xf32>, %arg1: memref<8xi32>) -> (memref<16xf32> {multipole.role = "fresh"})
// CHECK-SAME: attributes {multipole.entry = "build"}
// CHECK-NEXT: %[[A:.+]] = memref.alloc() : memref<16xf32>
// CHECK-NEXT: return %[[A]] : memref<16xf32>
func.func @mixed(%a: memref<4xf32>, %b: memref<8xi32>) -> (memref<4xf32> {multipole.role = "a"}, memref<16xf32> {multipole.role = "fresh"}, memref<8xi32> {multipole.role = "b"}) attributes {multipole.entry = "build"} {
  %n = memref.alloc() : memref<16xf32>
  return %a, %n, %b : memref<4xf32>, memref<16xf32>, memref<8xi32>
}

// The same argument returned twice: both results go.
// CHECK-LABEL: func.func @twice(%arg0: memref<4xf32>) attributes {multipole.entry = "step"} {
// CHECK-NEXT: return{{$}}
func.func @twice(%a: memref<4xf32>) -> (memref<4xf32>, memref<4xf32>) attributes {multipole.entry = "step"} {
  return %a, %a : memref<4xf32>, memref<4xf32>
}

// No multipole.entry: left alone.
// CHECK-LABEL: func.func @not_an_entry(%arg0: memref<4xf32>) -> memref<4xf32> {
// CHECK-NEXT: return %arg0 : memref<4xf32>
func.func @not_an_entry(%a: memref<4xf32>) -> memref<4xf32> {
  return %a : memref<4xf32>
}

// A fresh buffer does not alias an argument: kept.
// CHECK-LABEL: func.func @fresh_alloc(%arg0: memref<4xf32>) -> memref<4xf32> attributes {multipole.entry = "build"} {
// CHECK-NEXT: %[[A:.+]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT: memref.copy %arg0, %[[A]]
// CHECK-NEXT: return %[[A]] : memref<4xf32>
func.func @fresh_alloc(%a: memref<4xf32>) -> memref<4xf32> attributes {multipole.entry = "build"} {
  %n = memref.alloc() : memref<4xf32>
  memref.copy %a, %n : memref<4xf32> to memref<4xf32>
  return %n : memref<4xf32>
}

// A view of an argument is not the argument itself: kept.
// CHECK-LABEL: func.func @cast_of_arg(%arg0: memref<4xf32>) -> memref<?xf32> attributes {multipole.entry = "step"} {
// CHECK-NEXT: %[[C:.+]] = memref.cast %arg0
// CHECK-NEXT: return %[[C]] : memref<?xf32>
func.func @cast_of_arg(%a: memref<4xf32>) -> memref<?xf32> attributes {multipole.entry = "step"} {
  %c = memref.cast %a : memref<4xf32> to memref<?xf32>
  return %c : memref<?xf32>
}

// Only memref results are dropped: a returned tensor or scalar argument stays.
// CHECK-LABEL: func.func @non_memref(%arg0: tensor<4xf32>, %arg1: i32) -> (tensor<4xf32>, i32) attributes {multipole.entry = "step"} {
// CHECK-NEXT: return %arg0, %arg1 : tensor<4xf32>, i32
func.func @non_memref(%t: tensor<4xf32>, %i: i32) -> (tensor<4xf32>, i32) attributes {multipole.entry = "step"} {
  return %t, %i : tensor<4xf32>, i32
}

// More than one return: left alone.
// CHECK-LABEL: func.func @two_returns(%arg0: memref<4xf32>, %arg1: i1) -> memref<4xf32> attributes {multipole.entry = "step"} {
// CHECK: return %arg0 : memref<4xf32>
// CHECK: return %arg0 : memref<4xf32>
func.func @two_returns(%a: memref<4xf32>, %c: i1) -> memref<4xf32> attributes {multipole.entry = "step"} {
  cf.cond_br %c, ^bb1, ^bb2
^bb1:
  return %a : memref<4xf32>
^bb2:
  return %a : memref<4xf32>
}

// Declarations are skipped.
// CHECK-LABEL: func.func private @external(memref<4xf32>) -> memref<4xf32> attributes {multipole.entry = "step"}
func.func private @external(memref<4xf32>) -> memref<4xf32> attributes {multipole.entry = "step"}
