#!/usr/bin/env bash
# Copies lit and FileCheck (with the shared libraries it needs beyond a base
# system) into bench/tools, so that the GPU machine, which has no LLVM, can run
# the device test suite: python3 bench/tools/lit.py -v test/Device
set -euo pipefail
cd "$(dirname "$0")/.."
LLVM=${LLVM_DIR:-/usr/lib/llvm-22}
rm -rf bench/tools && mkdir -p bench/tools/bin bench/tools/lib
cp -r "$LLVM/utils/lit" bench/tools/lit
cp "$LLVM/bin/FileCheck" bench/tools/bin/
for lib in $(ldd "$LLVM/bin/FileCheck" | awk '/=>/ {print $3}'); do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|ld-linux*|libpthread*|libdl*|librt*) ;;
    *) cp -L "$lib" bench/tools/lib/ ;;
  esac
done
cat > bench/tools/lit.py <<'PY'
#!/usr/bin/env python3
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lit"))
from lit.main import main
main()
PY
ls -la bench/tools/bin bench/tools/lib
