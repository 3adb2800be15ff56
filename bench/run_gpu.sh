#!/usr/bin/env bash
# One call on the GPU machine: correctness, sanitizers, benchmarks. Libraries are
# compiled beforehand here (bench/compile_libs.sh); the CUDA runtime is carried.
# Env: SANITIZE=0 skips compute-sanitizer; STEPS="check build bench" picks parts.
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1 MULTIPOLE_CUDA_RUNTIME=$PWD/../build/lib/libmultipole_cuda_runtime.so
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
STEPS=${STEPS:-check build bench}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee $OUT/gpu.txt
if [[ $STEPS == *check* ]]; then
  MP_WATCHDOG=200 python3 gpu_check.py libs 2>&1 | tee $OUT/check.txt
fi
if [ "${SANITIZE:-1}" = 1 ]; then
  for tool in memcheck racecheck; do
    MP_WATCHDOG=100 timeout 110 compute-sanitizer --tool $tool --print-limit 5 python3 gpu_check.py libs ${SANCASE:-n2500} 2>&1 | tail -8 | tee $OUT/sanitize_$tool.txt
  done
fi
if [[ $STEPS == *build* ]]; then
  MP_WATCHDOG=150 python3 build_bench.py libs 2>&1 | tee $OUT/build.txt
fi
if [[ $STEPS == *bench* ]]; then
  MP_WATCHDOG=250 python3 bench_decode.py libs 2>&1 | tee $OUT/bench.txt
fi
if [[ $STEPS == *ncu* ]]; then
  # Per-kernel Nsight Compute summary of the multipole step (B=1 and 16, 128K).
  for B in 1 16; do
    ncu --kernel-name regex:"^(score_|select_|compact_|exact_split|approx_split|merge_)" --launch-skip 7 --launch-count 7 --section SpeedOfLight --section Occupancy --section LaunchStats \
      python3 profile_step.py libs $B 131072 2>&1 | grep -E "^  [a-z_0-9]+ \(|Duration|Memory Throughput|DRAM Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit Registers|Grid Size|Waves Per SM" | tee $OUT/ncu_b$B.txt
  done
fi
