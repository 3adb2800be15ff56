//===- Passes.td - multipole conversion passes ------------*- tablegen -*-===//
#ifndef MULTIPOLE_CONVERSION_PASSES_TD
#define MULTIPOLE_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMultipoleToLoops : Pass<"convert-multipole-to-loops", "ModuleOp"> {
  let summary = "Lower bufferized multipole ops to scf loops over memrefs";
  let description = [{
    Replaces every multipole op on memrefs by a call to a kernel function
    specialised for its element type (bf16/f16/f32) and rank layout. The
    kernels are written in MLIR (scf + memref + arith + math) and kept in
    `lib/Conversion/MultipoleToLoops/kernels/`; they are parsed, specialised and
    inserted into the module as private functions, once per element type, so
    the result only contains upstream dialects and lowers to LLVM with the
    standard passes. Operands are cast to fully dynamic strided memrefs.
    Ops still on tensors are an error: bufferize first.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

// The knobs of the GPU lowering: convert-multipole-to-gpu reads them, and
// multipole-gpu-plan, which sizes the split partials it plans, takes the same.
defvar MultipoleGPUOptions = [
    Option<"splits", "splits", "int64_t", "0",
           "CTAs per (sequence, KV head) for the attention kernels (default "
           "0: from the shape, about 4 CTAs per SM in all)">,
    Option<"threads", "threads", "int64_t", "128",
           "Threads per CTA of the attention kernels, a multiple of 32 "
           "(default 128)">,
    Option<"numSMs", "num-sms", "int64_t", "132",
           "Multiprocessors of the target GPU (default 132: H100/H200)">,
    Option<"scoreSplits", "score-splits", "int64_t", "0",
           "CTAs per (sequence, KV head) of the centroid-logits kernel "
           "(default 0: one wave at its occupancy)">,
    Option<"approxSplits", "approx-splits", "int64_t", "0",
           "CTAs per (sequence, KV head) of the centroid approximation "
           "(default 0: one wave at its occupancy)">,
    Option<"scoreLaneFloats", "score-lane-floats", "int64_t", "0",
           "Floats of a centroid row each lane of the logits kernel loads "
           "(4, 8 or 16) (default 0: 8, or 4 with windowed RoPE)">,
    Option<"approxLaneFloats", "approx-lane-floats", "int64_t", "0",
           "Floats of a value-centroid row each lane of the approximation "
           "loads (4, 8 or 16) (default 0: 16 at 64+ (sequence, head) pairs, "
           "else 8)">,
    Option<"mma", "mma", "bool", "true",
           "Exact attention on tensor cores (mma.sync, cp.async pipeline) "
           "where it applies (bf16, head dim 64 or 128, up to 8 query heads "
           "per KV head); false keeps the CUDA-core kernels (default true)">,
    Option<"mmaLogits", "mma-logits", "bool", "true",
           "Centroid logits on tensor cores (mma.sync of 16-centroid tiles "
           "against the query heads, f32 accumulation) where the products "
           "are exact: bf16 queries and bf16 centroids (centroid-type=bf16), "
           "no windowed RoPE, up to 8 query heads per KV head, head dim a "
           "multiple of 32; false keeps the CUDA-core kernel (default true)">,
    Option<"mmaApprox", "mma-approx", "bool", "true",
           "Centroid approximation on tensor cores (the exact part's mma.sync "
           "kernel with value-centroid tiles and the centroid logits as "
           "scores; weights rounded to bf16 as in the exact part) where it "
           "applies: bf16 caches and value centroids, head dim 64 or 128, up "
           "to 8 query heads per KV head; false keeps the CUDA-core kernel "
           "(default true)">,
    Option<"fuseScores", "fuse-scores", "bool", "true",
           "The cluster scores of a centroid_score that only a "
           "select_clusters reads are computed in the selection kernel, "
           "from the logits and their per-split (max, sum) pairs "
           "(multipole-gpu-plan marks the op multipole.scores_in_select), "
           "for levels of at most 4096 clusters: one launch less; false "
           "keeps the scores kernel (default true)">,
    Option<"kmeansSplit", "kmeans-split", "bool", "true",
           "k-means distances of bf16 keys on tensor cores with each centroid "
           "split into two bf16 terms (hi + lo: 16 mantissa bits); false "
           "uses one term (8 bits, half the tensor-core work) (default true)">,
    Option<"programmaticLaunch", "programmatic-launch", "bool", "true",
           "Kernels start with griddepcontrol wait and the entry points "
           "launch them with programmatic stream serialization (Hopper's "
           "programmatic dependent launch: a kernel's launch is processed "
           "while the previous kernel's last CTAs finish); "
           "false launches every kernel after the previous one completes "
           "(default true)">
];

def MultipoleGPUPlan : Pass<"multipole-gpu-plan", "ModuleOp"> {
  let summary = "Make the GPU lowering's fusion decisions explicit in the IR";
  let description = [{
    Runs on bufferized multipole IR before `convert-multipole-to-gpu` and
    records in the IR what the GPU kernels of neighbouring ops share, so that
    each op's lowering reads it from its operands instead of from other ops'
    lowerings:

    - a `select_clusters` whose mask feeds a `sparse_attention` gets a second
      output, the chunk bases (`memref<B x Hkv x (K + 1) x i32>`, K chunks of
      consecutive clusters, K chosen from B * Hkv as the selection kernel
      needs), allocated before it and freed after the exact part, which reads
      them as its `chunk_bases` operand: the selection kernel writes where
      each chunk's members go, and the compaction copies them a warp per
      chunk;
    - a `sparse_attention` or `centroid_approx` whose partials only feed a
      `merge` (head dim a multiple of 32) writes per-split partials
      (`[B, Hq, S, D]`, `[B, Hq, S]`, `[B, Hq, S]`, S chosen from the
      options as the kernels need) that the merge reads directly: no combine
      kernel in between.

    ```mlir
    // before
    multipole.select_clusters %r index(...) outs(%mask) ...
    multipole.sparse_attention ... selected %mask outs(...) ...
    // after
    %cb = memref.alloc() : memref<1x8x1025xi32>
    multipole.select_clusters %r index(...) outs(%mask, %cb) ...
    multipole.sparse_attention ... selected %mask chunk_bases(%cb : ...) ...
    memref.dealloc %cb : memref<1x8x1025xi32>
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
  let options = MultipoleGPUOptions;
}

def ConvertMultipoleToGPU : Pass<"convert-multipole-to-gpu", "ModuleOp"> {
  let summary = "Lower bufferized multipole ops to GPU kernels and launches";
  let description = [{
    Replaces every multipole op on memrefs by `gpu.launch_func`s of kernels
    generated for its static shapes into `gpu.module @multipole_kernels`
    (lib/Conversion/MultipoleToGPU: one file per op family). Attention kernels
    split the KV sequence across CTAs (`splits`, chosen from the shape when 0)
    so that even one sequence fills the GPU, read each K/V row once for the
    whole GQA group with 16-byte vector loads, and combine the splits with a
    log-sum-exp merge. Host allocations in the rewritten functions become
    `gpu.alloc`, so entry points take device pointers. Run
    `multipole-gpu-plan` before (without it, every selection and exact part is
    lowered on its own) and `multipole-lower-subgroup-reduce` (the warp
    reductions) and `gpu-lower-to-nvvm-pipeline` afterwards; the
    `multipole-cuda-pipeline` runs them all.
  }];
  // Every dialect the kernel builders create ops of (nvgpu: cp.async and
  // ldmatrix; NVVM: mma.sync, ballots; LLVM: the extractvalues of the
  // mma.sync result struct).
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect"];
  let options = MultipoleGPUOptions;
}

def MultipoleGPUProgrammaticLaunch
    : Pass<"multipole-gpu-programmatic-launch", "ModuleOp"> {
  let summary = "Make the generated kernels and their launches ready for "
                "programmatic dependent launch";
  let description = [{
    Runs on the output of `convert-multipole-to-gpu` when the GPU option
    `programmatic-launch` is true (the default; with false the pass does
    nothing). Three changes:

    - every kernel of the module's `gpu.module`s starts with
      `nvvm.griddepcontrol wait` (everything the previous grid wrote is
      visible). Nothing is read or written before the wait, so a kernel
      launched with programmatic stream serialization computes what it
      computes without it; launched without, the wait is a no-op. There is
      no explicit `launch_dependents`: the next grid is released as this
      one's CTAs exit (an early trigger left the next grid's CTAs resident
      and waiting beside this one's, and measured slower at large batch:
      bench/NOTES.md, runs 44-45);
    - in each host function of one block, the device allocations of static
      shape move to the top and their frees to the end, so that consecutive
      launches are adjacent in the stream (a stream-ordered allocation or
      free between two kernels is an operation of its own, and the second
      kernel could not start early). The scratch of a call is then all live
      for the whole call;
    - the module gets the unit attribute `multipole.programmatic_launch`;
      `multipole-compile` then makes each entry point open its call with
      `mpCallBeginFlags(stream, MP_CALL_PROGRAMMATIC_LAUNCH)`, and the
      runtime launches the call's kernels with
      `CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION` (on sm_90 and
      newer, unless `MULTIPOLE_PROGRAMMATIC_LAUNCH=0`).

    ```mlir
    // before
    gpu.launch_func @multipole_kernels::@a ...
    %t = gpu.alloc () : memref<8xf32>
    gpu.launch_func @multipole_kernels::@b ... args(%t : memref<8xf32>)
    gpu.dealloc %t : memref<8xf32>
    gpu.launch_func @multipole_kernels::@c ...
    gpu.func @a(...) kernel { <body> }
    // after
    %t = gpu.alloc () : memref<8xf32>
    gpu.launch_func @multipole_kernels::@a ...
    gpu.launch_func @multipole_kernels::@b ... args(%t : memref<8xf32>)
    gpu.launch_func @multipole_kernels::@c ...
    gpu.dealloc %t : memref<8xf32>
    gpu.func @a(...) kernel {
      nvvm.griddepcontrol wait
      <body>
    }
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::NVVM::NVVMDialect"];
  let options = MultipoleGPUOptions;
}

def MultipoleLowerSubgroupReduce
    : Pass<"multipole-lower-subgroup-reduce", "ModuleOp"> {
  let summary = "Lower gpu.subgroup_reduce to butterfly gpu.shuffle xor "
                "sequences (32-lane warps)";
  let description = [{
    The kernels of `convert-multipole-to-gpu` reduce across the lanes of a
    warp with upstream `gpu.subgroup_reduce` (with `cluster_size` when a row
    spans fewer than 32 lanes). This pass lowers every one of them with
    upstream's shuffle patterns (`populateGpuLowerSubgroupReduceToShufflePatterns`
    and its clustered counterpart; subgroup size 32, 32-bit shuffles): log2 of
    the cluster size `gpu.shuffle xor` steps of width 32, offsets 1, 2, 4, ...,
    each combined with the reduction's arith op, so every lane of a cluster
    gets the result. Values narrower than 32 bits (scalars or small vectors)
    are packed into an i32 for the shuffle. Run it before
    `gpu-lower-to-nvvm-pipeline` (the `multipole-cuda-pipeline` does); a
    `gpu.subgroup_reduce` of a value wider than 32 bits has no lowering here
    and is an error.

    ```mlir
    // before
    %s = gpu.subgroup_reduce add %x cluster(size = 4) : (f32) -> f32
    // after
    %c1 = arith.constant 1 : i32
    %c32 = arith.constant 32 : i32
    %y1, %v1 = gpu.shuffle xor %x, %c1, %c32 : f32
    %a1 = arith.addf %x, %y1 : f32
    %c2 = arith.constant 2 : i32
    %y2, %v2 = gpu.shuffle xor %a1, %c2, %c32 : f32
    %s = arith.addf %a1, %y2 : f32
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif
