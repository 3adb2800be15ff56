// CUDA libraries export, for every entry point, a wrapper that runs it on the
// caller's stream and returns the first error code (docs/ABI.md, version 2);
// the manifest names it. CPU libraries have none.
// REQUIRES: cuda-toolkit
// RUN: multipole-compile %s --target=cuda -o %t.so --keep-intermediates --rewrite-options="interval=64 block-size=256"
// RUN: FileCheck %s --input-file=%t.so.ll
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t.so.ll
// Without programmatic dependent launch the wrappers begin with mpCallBegin:
// RUN: multipole-compile %s --target=cuda -o %t.nopdl.so --keep-intermediates --rewrite-options="interval=64 block-size=256" --gpu-options=programmatic-launch=false
// RUN: FileCheck %s --check-prefix=NOPDL --input-file=%t.nopdl.so.ll
// RUN: FileCheck %s --check-prefix=NOPDLM --input-file=%t.nopdl.so.ll
// RUN: multipole-compile %s --target=cpu -o %t.cpu.so --keep-intermediates --rewrite-options="interval=64 block-size=256"
// RUN: FileCheck %s --check-prefix=CPU --input-file=%t.cpu.so.ll

// Begin the call on the given stream; only when that worked, run the entry
// point, then return what mpCallEnd reports. The kernels start with
// griddepcontrol wait (multipole-gpu-programmatic-launch), so the call asks
// for programmatic dependent launch (MP_CALL_PROGRAMMATIC_LAUNCH = 1).
// CHECK-LABEL: define i32 @mpentry_attn(ptr %stream,
// CHECK: %rc = tail call i32 @mpCallBeginFlags(ptr %stream, i32 1)
// CHECK: icmp eq i32 %rc, 0
// CHECK: tail call void @_mlir_ciface_attn(
// CHECK: tail call i32 @mpCallEnd()
// CHECK-LABEL: define i32 @mpentry_attn_mp_build(ptr %stream,
// CHECK: tail call void @_mlir_ciface_attn_mp_build(
// CHECK-LABEL: define i32 @mpentry_attn_mp_update(ptr %stream,
// CHECK: tail call void @_mlir_ciface_attn_mp_update(

// The manifest global is printed with escaped quotes (\22).
// MANIFEST: __multipole_manifest
// MANIFEST-SAME: stream_symbol\22:\22mpentry_attn\22,\22symbol\22:\22_mlir_ciface_attn\22
// MANIFEST-SAME: stream_symbol\22:\22mpentry_attn_mp_build\22
// MANIFEST-SAME: stream_symbol\22:\22mpentry_attn_mp_update\22
// MANIFEST-SAME: programmatic_launch\22:true
// MANIFEST-SAME: version\22:2}

// NOPDL-LABEL: define i32 @mpentry_attn(ptr %stream,
// NOPDL: %rc = tail call i32 @mpCallBegin(ptr %stream)
// NOPDLM: __multipole_manifest
// NOPDLM-SAME: programmatic_launch\22:false

// CPU: __multipole_manifest
// CPU-SAME: version\22:2}
// CPU-NOT: mpentry_

func.func @attn(%q: tensor<1x4x64xf32>, %k: tensor<1x2x1024x64xf32>,
                %v: tensor<1x2x1024x64xf32>, %lens: tensor<1xi32>) -> tensor<1x4x64xf32> {
  %e = tensor.empty() : tensor<1x4x64xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<1x4x64xf32>, tensor<1x2x1024x64xf32>, tensor<1x2x1024x64xf32>, tensor<1xi32>
        outs tensor<1x4x64xf32> -> tensor<1x4x64xf32>
  return %o : tensor<1x4x64xf32>
}
