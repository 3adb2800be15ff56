# GoogleTest unit tests of libmultipole_cuda_runtime.so. Without a GPU they check
# that a missing driver is reported as an error (never an abort); with
# MULTIPOLE_TEST_GPU=1 on a GPU machine they also load and launch kernels.
# RUN: %multipole_obj/unittests/Runtime/CudaRuntimeTest | FileCheck %s
# CHECK: [  PASSED  ]
# CHECK-NOT: FAILED
