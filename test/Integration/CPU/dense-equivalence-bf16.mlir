// bf16 caches and query, budget covering everything: within bf16 rounding of
// dense attention (relative error <= 1e-2), GQA with 4 query heads per KV head.
// RUN: multipole-compile %s -o %t.so --rewrite-options="budget-tokens=1000000 interval=64 block-size=1024"
// RUN: multipole-run %t.so --lens=1900,777 --data=clustered --max-rel-error=1e-2 | FileCheck %s
// The dense baseline (no rewrite) of the same IR, same bound.
// RUN: multipole-compile %s -o %t.dense.so --dense
// RUN: multipole-run %t.dense.so --lens=1900,777 --data=clustered --max-rel-error=1e-2 | FileCheck %s --check-prefix=DENSE

// CHECK: dtype=bf16
// CHECK: build
// CHECK: step     lens=[1900,777] {{.*}} rel error vs dense f64 {{[0-9.]+e-0[3-9]}}
// DENSE-NOT: {{^}}build
// DENSE: step     lens=[1900,777] {{.*}} rel error vs dense f64 {{[0-9.]+e-0[3-9]}}

func.func @attn(%q: tensor<2x16x128xbf16>, %k: tensor<2x4x2048x128xbf16>, %v: tensor<2x4x2048x128xbf16>, %lens: tensor<2xi32>) -> tensor<2x16x128xbf16> {
  %e = tensor.empty() : tensor<2x16x128xbf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<2x16x128xbf16>, tensor<2x4x2048x128xbf16>, tensor<2x4x2048x128xbf16>, tensor<2xi32>
        outs tensor<2x16x128xbf16> -> tensor<2x16x128xbf16>
  return %o : tensor<2x16x128xbf16>
}
