// A library whose code calls a function that nothing defines is not written:
// the link checks every symbol (-z defs), so no .so fails later at load time
// with "undefined symbol".
// RUN: rm -f %t.so
// RUN: not multipole-compile %s --dense --target=cpu -o %t.so 2>&1 | FileCheck %s
// RUN: not test -e %t.so
// CHECK: error: linking {{.*}} failed
// CHECK: undefined reference to `multipole_no_such_function'

func.func private @multipole_no_such_function(f32) -> f32
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    %t = func.call @multipole_no_such_function(%x) : (f32) -> f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// Without --dense the multipole form is asked for, and a module without decode
// attention is an error, not a library without it:
// RUN: not multipole-compile %s --target=cpu -o %t2.so 2>&1 | FileCheck %s --check-prefix=NODETECT
// RUN: not test -e %t2.so
// NODETECT: error: no decode attention was found, so there is nothing to compile into the multipole form
// NODETECT-SAME: pass --dense to compile the module as it is
