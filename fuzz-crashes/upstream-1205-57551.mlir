// upstream-parser
// multipole-fuzz path: parse+verify
// rewrite-options: 
// gpu-options: num-sms=1e-300 programmatic-launch=nan
"builtin.module"() ({
  "func.func"() <{function_type = (memref<8xf32>, index) -> (), sym_name = "step"}> ({
  ^bb0(%arg4: memref<8xf32>, %arg5: index):
    %3 = "arith.constant"() <{value = 1 : index}> : () -> index
    "gpu.launch_func"(%3, %3, %3, %3, %3, %3, %arg4) <{kernel = @k::@first, operandSegmentSizes = array<i32: 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0>}> : (index, index, index, index, index, index, memref<8xf32>) -> ()
    %4 = "gpu.alloc"() <{operandSegmentSizes = array<i32: 0, 0, 0>}> : () -> memref<8xf32>
    "gpu.launch_func"(%3, %3, %3, %3, %3, %3, %4) <{kernel = @k::@second, operandSegmentSizes = array<i32: 0, 1, 65535, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0>}> : (index, index, index, index, index, index, memref<8xf32>) -> ()
    %5 = "gpu.alloc"() <{operandSegmentSizes = array<i32: 0, 0, 0>}> : () -> memref<4xi32>
    "gpu.launch_func"(%3, %3, %3, %3, %3, %3, %4, %5) <{kernel = @k::@third, operandSegmentSizes = array<i32: 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 0>}> : (index, index, index, index, index, index, memref<8xf32>, memref<4xi32>) -> ()
    "gpu.dealloc"(%4) : (memref<8xf32>) -> ()
    %6 = "gpu.alloc"(%arg5) <{operandSegmentSizes = array<i32: 0, 1, 0>}> : (index) -> memref<?xf32>
    "gpu.dealloc"(%6) : (memref<?xf32>) -> ()
    "gpu.dealloc"(%5) : (memref<4xi32>) -> ()
    "func.return"() : () -> ()
  }) : () -> ()
  "func.func"() <{function_type = () -> (), sym_name = "branchy"}> ({
    "cf.br"()[^bb1] : () -> ()
  ^bb1:  // pred: ^bb0
    %2 = "gpu.alloc"() <{operandSegmentSizes = array<i32: 0, 0, 0>}> : () -> memref<8xf32>
    "gpu.dealloc"(%2) : (memref<8xf32>) -> ()
    "func.return"() : () -> ()
  }) : () -> ()
  "gpu.module"() <{sym_name = "k"}> ({
    "gpu.func"() <{function_type = (memref<8xf32>) -> ()}> ({
    ^bb0(%arg3: memref<8xf32>):
      %0 = "arith.constant"() <{value = 0 : index}> : () -> index
      %1 = "arith.constant"() <{value = 1.000000e+00 : f32}> : () -> f32
      "memref.store"(%1, %arg3, %0) : (f32, memref<8xf32>, index) -> ()
      "gpu.return"() : () -> ()
    }) {gpu.kernel, sym_name = "first", workgroup_attributions = 0 : i64} : () -> ()
    "gpu.func"() <{function_type = (memref<8xf32>) -> ()}> ({
    ^bb0(%arg2: memref<8xf32>):
      "gpu.return"() : () -> ()
    }) {gpu.kernel, sym_name = "second", workgroup_attributions = 0 : i64} : () -> ()
    "gpu.func"() <{function_type = (memref<8xf32>, memref<4xi32>) -> ()}> ({
    ^bb0(%arg0: memref<8xf32>, %arg1: memref<4xi32>):
      "gpu.return"() : () -> ()
    }) {gpu.kernel, sym_name = "third", workgroup_attributions = 0 : i64} : () -> ()
    "gpu.func"() <{function_type = () -> ()}> ({
      "gpu.return"() : () -> ()
    }) {sym_name = "helper", workgroup_attributions = 0 : i64} : () -> ()
  }) : () -> ()
}) {gpu.container_module} : () -> ()
