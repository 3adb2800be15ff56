#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (lit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ninja -C build check-multipole
