// multipole-gpu-programmatic-launch: every kernel first waits for the previous
// grid (no explicit launch_dependents: the next grid is released as its CTAs
// exit); the host functions' static scratch
// is allocated at the top and freed at the end, so the launches are adjacent;
// the module is marked for the compile driver.
// RUN: multipole-opt %s --multipole-gpu-programmatic-launch | FileCheck %s
// RUN: multipole-opt %s --multipole-gpu-programmatic-launch=programmatic-launch=false | FileCheck %s --check-prefix=OFF
// RUN: not multipole-opt %s --multipole-gpu-programmatic-launch=programmatic-launch= 2>&1 | FileCheck %s --check-prefix=EMPTY

// CHECK: module attributes {gpu.container_module, multipole.programmatic_launch}
// OFF: module attributes {gpu.container_module} {
// OFF-NOT: griddepcontrol
// EMPTY: option 'programmatic-launch' of multipole-gpu-programmatic-launch has an empty value
module attributes {gpu.container_module} {
  // CHECK-LABEL: func.func @step(
  // CHECK-NEXT:    %[[A:.*]] = gpu.alloc () : memref<8xf32>
  // CHECK-NEXT:    %[[B:.*]] = gpu.alloc () : memref<4xi32>
  // CHECK-NEXT:    %[[C:.*]] = arith.constant 1 : index
  // CHECK-NEXT:    gpu.launch_func @k::@first blocks in (%[[C]], %[[C]], %[[C]]) threads in (%[[C]], %[[C]], %[[C]]) args(%{{.*}} : memref<8xf32>)
  // CHECK-NEXT:    gpu.launch_func @k::@second {{.*}} args(%[[A]] : memref<8xf32>)
  // CHECK-NEXT:    gpu.launch_func @k::@third {{.*}} args(%[[A]] : memref<8xf32>, %[[B]] : memref<4xi32>)
  // A dynamic-size allocation stays where its size is known.
  // CHECK-NEXT:    %[[D:.*]] = gpu.alloc (%{{.*}}) : memref<?xf32>
  // CHECK-NEXT:    gpu.dealloc %[[D]] : memref<?xf32>
  // CHECK-NEXT:    gpu.dealloc %[[A]] : memref<8xf32>
  // CHECK-NEXT:    gpu.dealloc %[[B]] : memref<4xi32>
  // CHECK-NEXT:    return
  // OFF-LABEL: func.func @step(
  // OFF-NEXT:    arith.constant
  // OFF-NEXT:    gpu.launch_func @k::@first
  // OFF-NEXT:    gpu.alloc () : memref<8xf32>
  func.func @step(%x: memref<8xf32>, %n: index) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k::@first blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<8xf32>)
    %a = gpu.alloc () : memref<8xf32>
    gpu.launch_func @k::@second blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<8xf32>)
    %b = gpu.alloc () : memref<4xi32>
    gpu.launch_func @k::@third blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<8xf32>, %b : memref<4xi32>)
    gpu.dealloc %a : memref<8xf32>
    %d = gpu.alloc (%n) : memref<?xf32>
    gpu.dealloc %d : memref<?xf32>
    gpu.dealloc %b : memref<4xi32>
    return
  }

  // Functions of several blocks are left as they are.
  // CHECK-LABEL: func.func @branchy(
  // CHECK:         cf.br ^bb1
  // CHECK:       ^bb1:
  // CHECK-NEXT:    %[[E:.*]] = gpu.alloc () : memref<8xf32>
  // CHECK-NEXT:    gpu.dealloc %[[E]] : memref<8xf32>
  func.func @branchy() {
    cf.br ^bb1
  ^bb1:
    %e = gpu.alloc () : memref<8xf32>
    gpu.dealloc %e : memref<8xf32>
    return
  }

  gpu.module @k {
    // CHECK-LABEL: gpu.func @first(
    // CHECK-NEXT:    nvvm.griddepcontrol wait
    // CHECK-NOT:     launch_dependents
    // CHECK:         memref.store
    gpu.func @first(%x: memref<8xf32>) kernel {
      %c0 = arith.constant 0 : index
      %f = arith.constant 1.0 : f32
      memref.store %f, %x[%c0] : memref<8xf32>
      gpu.return
    }
    // CHECK-LABEL: gpu.func @second(
    // CHECK-NEXT:    nvvm.griddepcontrol wait
    // CHECK-NEXT:    gpu.return
    gpu.func @second(%x: memref<8xf32>) kernel {
      gpu.return
    }
    // CHECK-LABEL: gpu.func @third(
    // CHECK-NEXT:    nvvm.griddepcontrol wait
    gpu.func @third(%x: memref<8xf32>, %y: memref<4xi32>) kernel {
      gpu.return
    }
    // Device functions that are not kernels are not touched.
    // CHECK-LABEL: gpu.func @helper(
    // CHECK-NOT:     griddepcontrol
    // CHECK:         gpu.return
    gpu.func @helper() {
      gpu.return
    }
  }
}
