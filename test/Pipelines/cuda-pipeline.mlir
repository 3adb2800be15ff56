// multipole-cuda-pipeline: bufferization, convert-multipole-to-gpu and the NVVM
// lowering in one registered pipeline; bad options are errors.
// RUN: multipole-opt %S/../Conversion/MultipoleToGPU/Inputs/head-dim-16.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=GPU
// RUN: not multipole-opt %S/../Conversion/MultipoleToGPU/Inputs/head-dim-16.mlir --pass-pipeline="builtin.module(multipole-cuda-pipeline{format=elf})" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not multipole-opt %S/../Conversion/MultipoleToGPU/Inputs/head-dim-16.mlir --pass-pipeline="builtin.module(multipole-cuda-pipeline{gpu-options='splits='})" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: multipole-opt --help | FileCheck %s --check-prefix=HELP

// GPU: gpu.launch_func @multipole_kernels::@score_0_logits
// GPU: gpu.module @multipole_kernels
// GPU: gpu.func @score_0_logits
// FORMAT: error: multipole-cuda-pipeline: format must be 'bin' (cubin) or 'isa' (PTX), got 'elf'
// EMPTY: option 'splits' of multipole-gpu-plan has an empty value
// HELP: --multipole-cuda-pipeline
// HELP: --chip=<string> {{.*}}(default sm_90a)
