// 10% budget on clustered keys (docs/Algorithm.md defaults otherwise): the
// relative error stays below the documented bound (5e-2 with replacement,
// README "Accuracy"), and replacement lowers it (see the python test
// test/python/cpu_vs_reference.py for the paired comparison).
// RUN: multipole-compile %s -o %t.on.so --rewrite-options="budget-fraction=0.1"
// RUN: multipole-compile %s -o %t.off.so --rewrite-options="budget-fraction=0.1 replacement=false"
// RUN: multipole-run %t.on.so --lens=4096,3500 --data=clustered --seed=1 --max-rel-error=5e-2 | FileCheck %s
// RUN: not multipole-run %t.off.so --lens=4096,3500 --data=clustered --seed=1 --max-rel-error=5e-2 2>&1 | FileCheck %s --check-prefix=OFF
// Replacement off and budget 0: attention over sink and window only, which is
// far from dense on these data.
// RUN: multipole-compile %s -o %t.zero.so --rewrite-options="budget-tokens=0 replacement=false"
// RUN: not multipole-run %t.zero.so --data=clustered --max-rel-error=0.1 2>&1 | FileCheck %s --check-prefix=ZERO

// CHECK: step     lens=[4096,3500] {{.*}} rel error vs dense f64 {{[0-9.]+e-0[2-9]}}
// OFF: step: relative error {{.*}} exceeds --max-rel-error=
// ZERO: step: relative error {{.*}} exceeds --max-rel-error=

func.func @attn(%q: tensor<2x8x64xf32>, %k: tensor<2x2x4096x64xf32>, %v: tensor<2x2x4096x64xf32>, %lens: tensor<2xi32>) -> tensor<2x8x64xf32> {
  %e = tensor.empty() : tensor<2x8x64xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<2x8x64xf32>, tensor<2x2x4096x64xf32>, tensor<2x2x4096x64xf32>, tensor<2xi32>
        outs tensor<2x8x64xf32> -> tensor<2x8x64xf32>
  return %o : tensor<2x8x64xf32>
}
