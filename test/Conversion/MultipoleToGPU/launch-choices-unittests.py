# GoogleTest unit tests of the GPU lowering's launch arithmetic (LaunchChoices.cpp,
# ScoreKernels.cpp): the selection's chunks of clusters, which the selection and the
# compaction kernels must agree on, and the split counts. No GPU needed.
# RUN: %multipole_obj/unittests/Conversion/LaunchChoicesTest | FileCheck %s
# CHECK: [  PASSED  ] 5 tests.
# CHECK-NOT: FAILED
