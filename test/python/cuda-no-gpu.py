# A CUDA library on a machine without a usable GPU: the Python package and the
# runner refuse it with a clear message (never a crash), and the manifest still
# lists the entry points.
# REQUIRES: numpy, cuda-toolkit
# RUN: multipole-compile %S/../Integration/CPU/dense-equivalence-f32.mlir --target=cuda -o %t.so
# RUN: multipole-run %t.so --list | FileCheck %s --check-prefix=LIST
# RUN: env MULTIPOLE_LIBCUDA=/nonexistent/libcuda.so.1 MULTIPOLE_CUDA_RUNTIME=%multipole_obj/lib/libmultipole_cuda_runtime.so %python %s %t.so | FileCheck %s
# RUN: env MULTIPOLE_LIBCUDA=/nonexistent/libcuda.so.1 not multipole-run %t.so 2>&1 | FileCheck %s --check-prefix=RUNNER
# LIST: target: cuda
# LIST: step attn
# CHECK: refused: {{.*}} runs on CUDA GPUs, and none is usable here: no CUDA driver
# RUNNER: error: no usable CUDA GPU: no CUDA driver
import sys

import multipole as mp

try:
    mp.load(sys.argv[1])
    print("loaded (a GPU is present)")
except mp.MultipoleError as e:
    print("refused:", e)
