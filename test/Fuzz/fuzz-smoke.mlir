// A short, fixed-seed fuzzing run over the lit inputs (the CI job runs a
// longer one from scripts/test.sh): no crash of ours may be found. How many
// inputs crash upstream's parser depends on the corpus, which every new test
// changes, so only ours are counted.
// RUN: rm -rf %t.crashes
// RUN: multipole-fuzz --seed=7 --runs=1500 --crash-dir=%t.crashes %src/test | FileCheck %s
// CHECK: multipole-fuzz: 1500 inputs tried
// CHECK: multipole-fuzz: crashes found: 0 (timeouts 0); upstream parser crashes (not counted): {{[0-9]+}}

// The three known upstream parser crashes are recognised as such (their whole
// stack between the fault and the harness is in libMLIR, or in copies of
// libMLIR's functions that the executable exports) and not counted:
// RUN: multipole-fuzz --seed=1 --runs=3 --crash-dir=%t.crashes %S/Inputs/upstream-crashes | FileCheck %s --check-prefix=UP
// UP: multipole-fuzz: 3 inputs tried
// UP: multipole-fuzz: crashes found: 0 (timeouts 0); upstream parser crashes (not counted): 3

// A crash in our own code is counted and fails the run (the runner's
// check that exit codes and signals are seen): --crash-self makes the child
// fault in the harness.
// RUN: not multipole-fuzz --seed=1 --runs=3 --crash-self --crash-dir=%t.crashes %S/Inputs/upstream-crashes | FileCheck %s --check-prefix=SELF
// SELF: crashes found: 3
