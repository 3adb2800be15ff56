# The numpy reference checks its own properties (docs/Algorithm.md).
# REQUIRES: numpy
# RUN: %python %src/python/tests/test_reference.py | FileCheck %s
# CHECK-NOT: FAIL
# CHECK: passed
