// Bad input to the runner gets a clear error and a non-zero exit.
// RUN: multipole-compile %s -o %t.so --rewrite-options="interval=32 block-size=256"
// RUN: not multipole-run %t.so --entry=nope 2>&1 | FileCheck %s --check-prefix=ENTRY
// RUN: not multipole-run %t.so --lens=1,2,3 2>&1 | FileCheck %s --check-prefix=LENS
// RUN: not multipole-run %t.so --lens=9999 2>&1 | FileCheck %s --check-prefix=LENRANGE
// RUN: not multipole-run %t.so --data=bogus 2>&1 | FileCheck %s --check-prefix=DATA
// RUN: %python -c "import numpy as np; np.save('%t.q.npy', np.zeros((2,4,3), np.float32)); a = np.zeros((2,4,16), np.float32); a[1,2,3] = np.nan; np.save('%t.nan.npy', a)"
// RUN: not multipole-run %t.so --q=%t.q.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not multipole-run %t.so --q=%t.nan.npy 2>&1 | FileCheck %s --check-prefix=NAN
// RUN: not multipole-run %t.so --q=%s 2>&1 | FileCheck %s --check-prefix=NOTNPY
// RUN: not multipole-run %t.missing.so 2>&1 | FileCheck %s --check-prefix=NOLIB
// RUN: head -c 2000 %t.so > %t.corrupt.so
// RUN: not multipole-run %t.corrupt.so 2>&1 | FileCheck %s --check-prefix=CORRUPT
// RUN: multipole-run %t.so --list | FileCheck %s --check-prefix=LIST

// ENTRY: error: no entry point 'nope' in '{{.*}}'; it has: attn attn_mp_build attn_mp_update
// LENS: error: --lens has 3 values, batch is 2
// LENRANGE: error: --lens: '9999' is not a length in [0, 300]
// DATA: error: unknown --data kind 'bogus'
// SHAPE: error: '{{.*}}.q.npy' has shape (2, 4, 3) but 'q' must be (2, 4, 16)
// NAN: error: 'q' contains NaN or Inf at flat index 99: refusing to run
// NOTNPY: error: '{{.*}}' is not an .npy file
// NOLIB: error: cannot load '{{.*}}.missing.so'
// CORRUPT: error: cannot load '{{.*}}.corrupt.so': not a valid shared library
// LIST: target: cpu
// LIST: step attn (_mlir_ciface_attn)
// LIST:     in q: f32 (2, 4, 16)
// LIST:     in lens: i32 (2)
// LIST:     in L0.centroids: f32 (2, 2, 
// LIST:     out out: f32 (2, 4, 16)
// LIST: build attn_mp_build
// LIST: update attn_mp_update
// LIST:     inout L0.state: i32 (2, 2, 4)

func.func @attn(%q: tensor<2x4x16xf32>, %k: tensor<2x2x300x16xf32>, %v: tensor<2x2x300x16xf32>, %lens: tensor<2xi32>) -> tensor<2x4x16xf32> {
  %e = tensor.empty() : tensor<2x4x16xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<2x4x16xf32>, tensor<2x2x300x16xf32>, tensor<2x2x300x16xf32>, tensor<2xi32>
        outs tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}
