# GoogleTest unit tests of the GPU lowering's launch arithmetic (LaunchChoices.cpp,
# ScoreKernels.cpp, ClusterKernels.cpp): the selection's chunks of clusters, which the
# selection and the compaction kernels must agree on, the split counts, the tracked
# interval's grid (cluster chunks cover the block, tokens fit the CTA) and the bound of
# the scores computed in the selection. No GPU needed.
# RUN: %multipole_obj/unittests/Conversion/LaunchChoicesTest | FileCheck %s
# CHECK: [  PASSED  ] 8 tests.
# CHECK-NOT: FAILED
