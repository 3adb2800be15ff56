# Every CUDA entry point against the CPU backend, the numpy reference and dense
# f64 attention (ragged lengths, Hkv 1/2/8, D 64/128, bf16/f16/f32), on a machine
# with both the MLIR toolchain and a GPU (torch for device tensors).
# On the lent H200 (no MLIR there) the same check is the test/Device suite, run
# from libraries compiled beforehand: bench/compile_libs.sh and
# bench/device_tools.sh here, then `python3 bench/tools/lit.py -v test/Device`.
# REQUIRES: cuda-device
# RUN: rm -rf %t && bash %src/bench/compile_libs.sh %t > /dev/null
# RUN: env MULTIPOLE_CUDA_RUNTIME=%multipole_obj/lib/libmultipole_cuda_runtime.so %python %src/bench/gpu_check.py %t | FileCheck %s
# CHECK-NOT: FAIL
# CHECK: GPU check: all passed
