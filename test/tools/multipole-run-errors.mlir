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
// A name without '/' is the local file, not one from the system library path:
// RUN: rm -rf %t.dir && mkdir -p %t.dir && cp %t.so %t.dir/small.so && cp %t.so %t.dir/libm.so.6
// RUN: cd %t.dir && multipole-run small.so --list | FileCheck %s --check-prefix=LOCAL
// RUN: cd %t.dir && multipole-run libm.so.6 --list | FileCheck %s --check-prefix=LOCAL
// RUN: not multipole-run %t.so --max-rel-error=nan 2>&1 | FileCheck %s --check-prefix=NANBOUND
// RUN: not multipole-run %t.so --max-rel-error=-1 2>&1 | FileCheck %s --check-prefix=NEGBOUND
// .npy versions other than 1.0 / 2.0, and trailing bytes:
// RUN: %python -c "import numpy as np; np.save('%t.ok.npy', np.zeros((2,4,16), np.float32))"
// RUN: %python -c "d = bytearray(open('%t.ok.npy','rb').read()); d[6] = 3; open('%t.v3.npy','wb').write(d); d[6] = 9; open('%t.v9.npy','wb').write(d)"
// RUN: %python -c "open('%t.trail.npy','wb').write(open('%t.ok.npy','rb').read() + b'xyz')"
// RUN: not multipole-run %t.so --q=%t.v3.npy 2>&1 | FileCheck %s --check-prefix=V3
// RUN: not multipole-run %t.so --q=%t.v9.npy 2>&1 | FileCheck %s --check-prefix=V9
// RUN: not multipole-run %t.so --q=%t.trail.npy 2>&1 | FileCheck %s --check-prefix=TRAIL
// RUN: multipole-run %t.so --q=%t.ok.npy | FileCheck %s --check-prefix=NPYOK
// --check-index needs a cluster index:
// RUN: multipole-compile %s -o %t.dense.so --dense
// RUN: not multipole-run %t.dense.so --check-index 2>&1 | FileCheck %s --check-prefix=DENSEIDX
// Manifests with zero, negative or huge shapes (hand-made libraries):
// RUN: %python %S/Inputs/fake_library.py %t.zero.so "[2, 0, 16]"
// RUN: %python %S/Inputs/fake_library.py %t.neg.so "[2, -4, 16]"
// RUN: %python %S/Inputs/fake_library.py %t.huge.so "[4611686018427387904, 4, 16]"
// RUN: %python %S/Inputs/fake_library.py %t.big.so "[1048576, 1048576, 1048576]"
// RUN: not multipole-run %t.zero.so 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not multipole-run %t.neg.so 2>&1 | FileCheck %s --check-prefix=NEG
// RUN: not multipole-run %t.huge.so 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: not multipole-run %t.big.so 2>&1 | FileCheck %s --check-prefix=BIG

// LOCAL: target: cpu
// NANBOUND: error: --max-rel-error must be a number >= 0, got nan
// NEGBOUND: error: --max-rel-error must be a number >= 0, got -1.0
// V3: error: '{{.*}}.v3.npy': .npy format version 3.0 is not supported (1.0 or 2.0)
// V9: error: '{{.*}}.v9.npy': .npy format version 9.0 is not supported (1.0 or 2.0)
// TRAIL: error: '{{.*}}.trail.npy' has 3 bytes after its 128 elements
// NPYOK: rel error vs dense f64
// DENSEIDX: error: --check-index: entry point 'attn' has no cluster index (no build entry point: a dense library?)
// ZERO: error: corrupt manifest: argument 'q' of 'attn' has shape (2, 0, 16): every dimension must be in [1, 2^40]
// NEG: error: corrupt manifest: argument 'q' of 'attn' has shape (2, -4, 16): every dimension must be in [1, 2^40]
// HUGE: error: corrupt manifest: argument 'q' of 'attn' has shape (4611686018427387904, 4, 16): every dimension must be in [1, 2^40]
// BIG: error: corrupt manifest: argument 'q' of 'attn' has shape (1048576, 1048576, 1048576): more than 2^40 bytes

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
// LIST:     in L0.centroids: bf16 (2, 2, 
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
