// Bad input to the compile driver gets a diagnostic and a non-zero exit.
// RUN: not multipole-compile %s -o %t.so --rewrite-options="budget-fraction=1.5" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not multipole-compile %s -o %t.so --rewrite-options="budget-tokens=-5" 2>&1 | FileCheck %s --check-prefix=NEG
// RUN: not multipole-compile %s -o %t.so --rewrite-options="fraction=1.0" 2>&1 | FileCheck %s --check-prefix=FRAC
// RUN: not multipole-compile %s -o %t.so --rewrite-options="sink=500" 2>&1 | FileCheck %s --check-prefix=SINK
// RUN: not multipole-compile %s -o %t.so --rewrite-options="no-such-knob=1" 2>&1 | FileCheck %s --check-prefix=KNOB
// RUN: not multipole-compile %s -o %t.so --rewrite-options="build-iters=4611686018427387904" 2>&1 | FileCheck %s --check-prefix=ITERS
// RUN: not multipole-compile %s -o %t.so --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not multipole-compile %t.nonexistent.mlir -o %t.so 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: echo "func.func @f( {" > %t.bad.mlir
// RUN: not multipole-compile %t.bad.mlir -o %t.so 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: not multipole-compile %s -o %t.nodir/x/y.so 2>&1 | FileCheck %s --check-prefix=LINK

// BUDGET: budget_fraction must be in [0, 1), got 1.5
// NEG: budget must be >= 0 tokens, got -5
// FRAC: cluster fraction must be in (0, 1), got 1
// SINK: sink (500 tokens) is larger than the KV cache (300 tokens)
// KNOB: no-such-knob
// ITERS: build_iters must be in [1, 1000], got 4611686018427387904
// TARGET: target 'tpu' is not available in this build; supported targets: cpu
// NOFILE: multipole-compile: {{.*}}nonexistent.mlir{{.*}}
// PARSE: error:
// PARSE: multipole-compile: cannot parse
// LINK: error: linking {{.*}} failed

func.func @attn(%q: tensor<2x4x16xf32>, %k: tensor<2x2x300x16xf32>, %v: tensor<2x2x300x16xf32>, %lens: tensor<2xi32>) -> tensor<2x4x16xf32> {
  %e = tensor.empty() : tensor<2x4x16xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<2x4x16xf32>, tensor<2x2x300x16xf32>, tensor<2x2x300x16xf32>, tensor<2xi32>
        outs tensor<2x4x16xf32> -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}
