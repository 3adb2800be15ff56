// The CPU kernel library (lib/Conversion/MultipoleToLoops/kernels/Kernels.mlir)
// is an MLIR file templated by element type only: each specialisation parses
// and verifies on its own (with the two conversion functions the pass builds
// declared here).
// RUN: for t in bf16 f16 f32; do \
// RUN:   (echo "func.func private @__mp_ext_$t($t) -> f32"; echo "func.func private @__mp_trunc_$t(f32) -> $t"; \
// RUN:    sed -e "s/\\\$T/$t/g" -e "s/!E\b/$t/g" %src/lib/Conversion/MultipoleToLoops/kernels/Kernels.mlir) \
// RUN:   | multipole-opt --verify-each | FileCheck %s --check-prefix=CHECK-$t || exit 1; done
// CHECK-bf16: func.func private @__mp_decode_attention_bf16(%arg0: memref<?x?x?xbf16
// CHECK-f16: func.func private @__mp_decode_attention_f16(%arg0: memref<?x?x?xf16
// CHECK-f32: func.func private @__mp_decode_attention_f32(%arg0: memref<?x?x?xf32
