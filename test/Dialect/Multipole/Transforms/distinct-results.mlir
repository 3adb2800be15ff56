// RUN: multipole-opt %s -split-input-file --multipole-distinct-results -verify-diagnostics | FileCheck %s

// A buffer returned twice: the second result becomes a copy, so that
// buffer-results-to-out-params{hoist-static-allocs} (which crashed on this)
// sees distinct allocations.
// CHECK-LABEL: func.func @twice
// CHECK: %[[A:.*]] = memref.alloc() : memref<4xf32>
// CHECK: %[[C:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.copy %[[A]], %[[C]]
// CHECK: return %[[A]], %[[C]], %[[A]]
func.func @twice() -> (memref<4xf32>, memref<4xf32>, memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  return %a, %a, %a : memref<4xf32>, memref<4xf32>, memref<4xf32>
}

// -----

// Dynamic shapes copy with the same sizes.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[D:.*]] = memref.dim %arg0, %c0
// CHECK: %[[C:.*]] = memref.alloc(%[[D]]) : memref<?xf32>
// CHECK: memref.copy %arg0, %[[C]]
// CHECK: return %arg0, %[[C]]
func.func @dynamic(%a: memref<?xf32>) -> (memref<?xf32>, memref<?xf32>) {
  return %a, %a : memref<?xf32>, memref<?xf32>
}

// -----

func.func @strided(%a: memref<4xf32, strided<[2]>>) -> (memref<4xf32, strided<[2]>>, memref<4xf32, strided<[2]>>) {
  // expected-error @+1 {{result #1 returns the same buffer as an earlier result and has a non-identity layout ('memref<4xf32, strided<[2]>>'); return distinct buffers}}
  return %a, %a : memref<4xf32, strided<[2]>>, memref<4xf32, strided<[2]>>
}
