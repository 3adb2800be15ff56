# The README's Python example runs as written on a CPU library.
# REQUIRES: numpy
# RUN: multipole-compile %S/../Integration/CPU/dense-equivalence-f32.mlir -o %t.so
# RUN: %python %S/../Inputs/run_readme_snippet.py %src/README.md %t.so | FileCheck %s
# CHECK: step output ({{[0-9]+}}, {{[0-9]+}}, {{[0-9]+}}) levels 1
