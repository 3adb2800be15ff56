// With a budget that covers every clustered token, multipole attention is
// dense attention up to f32 rounding (docs/Algorithm.md, "Properties").
// RUN: multipole-compile %s -o %t.so --rewrite-options="budget-tokens=1000000 sink=16 interval=64 block-size=1024"
// RUN: multipole-run %t.so --lens=2048,1500,999,40 --data=random --max-rel-error=1e-5 --check-index --updates=2 | FileCheck %s
// Two levels, every budget large: still dense.
// RUN: multipole-compile %s -o %t2.so --rewrite-options="budget-tokens=1000000 coarse-fraction=0.25 coarse-budget-tokens=1000000 interval=64 block-size=1024"
// RUN: multipole-run %t2.so --lens=2048,1700,1000,300 --data=clustered --max-rel-error=1e-5 | FileCheck %s --check-prefix=TWO
// Windowed RoPE (pre-RoPE clustering of rotated keys): still dense.
// RUN: multipole-compile %s -o %t3.so --rewrite-options="budget-tokens=1000000 rope-theta=10000 interval=64 block-size=1024"
// RUN: multipole-run %t3.so --lens=2048 --data=heavy --max-rel-error=1e-5 --check-index | FileCheck %s --check-prefix=ROPE

// CHECK: entry: attn  B=4 Hq=8 Hkv=2 N=2048 D=64 dtype=f32
// CHECK: build
// CHECK: index after build: OK
// CHECK: step     lens=[2048,1500,999,40] {{.*}} rel error vs dense f64 {{[0-9.]+e-0[6-9]}}
// CHECK: index after update: OK
// CHECK: step     lens=[2048,1628,1127,168]
// CHECK: index after update: OK
// CHECK: step     lens=[2048,1756,1255,296]
// TWO: step     lens=[2048,1700,1000,300] {{.*}} rel error vs dense f64 {{[0-9.]+e-0[6-9]}}
// ROPE: index after build: OK
// ROPE: rel error vs dense f64 {{[0-9.]+e-0[6-9]}}

func.func @attn(%q: tensor<4x8x64xf32>, %k: tensor<4x2x2048x64xf32>, %v: tensor<4x2x2048x64xf32>, %lens: tensor<4xi32>) -> tensor<4x8x64xf32> {
  %e = tensor.empty() : tensor<4x8x64xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<4x8x64xf32>, tensor<4x2x2048x64xf32>, tensor<4x2x2048x64xf32>, tensor<4xi32>
        outs tensor<4x8x64xf32> -> tensor<4x8x64xf32>
  return %o : tensor<4x8x64xf32>
}
