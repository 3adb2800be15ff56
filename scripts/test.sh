#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (lit), then
# a bounded fuzzing run (fixed seed, docs/Fuzzing.md) that fails on any crash.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ninja -C build check-multipole
# About a minute on one core of a CI machine: 40,000 mutated inputs.
echo "[test] fuzzing: multipole-fuzz --seed=1 --runs=${MULTIPOLE_FUZZ_RUNS:-40000}"
build/bin/multipole-fuzz --seed=1 --runs="${MULTIPOLE_FUZZ_RUNS:-40000}" \
  --crash-dir=build/fuzz-crashes test
