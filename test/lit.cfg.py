# -*- Python -*-
import os
import shutil
import subprocess
import sys

import lit.formats
from lit.llvm import llvm_config

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
from gpu_features import has_cuda_device  # noqa: E402

config.name = "MULTIPOLE"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".py"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "Inputs", "CMakeLists.txt",
                   "Device"]  # test/Device: its own suite for the GPU machine
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.multipole_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%src", config.multipole_src_root))
config.substitutions.append(("%multipole_obj", config.multipole_obj_root))
config.environment["PYTHONPATH"] = os.path.join(config.multipole_src_root, "python")
# CUDA locations reach the tools (ptxas, libdevice) when a GPU target exists.
for var in ["CUDA_HOME", "CUDA_ROOT", "CUDA_PATH", "MULTIPOLE_LINKER"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
# -DMULTIPOLE_SANITIZE=ON builds: a sanitizer report aborts (a crash, which
# `not` does not accept) instead of exiting with status 1. No user poisoning:
# llvm::BumpPtrAllocator poisons its slabs in our instrumented code and
# hands out memory from them in the uninstrumented libMLIR (false positives).
config.environment["ASAN_OPTIONS"] = "abort_on_error=1:allow_user_poisoning=0"
config.environment["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:abort_on_error=1"
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.multipole_tools_dir, append_path=True)
llvm_config.use_default_substitutions()

tool_dirs = [config.multipole_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    ["multipole-opt", "multipole-compile", "multipole-run", "multipole-fuzz"],
    tool_dirs)

# A GPU is present: enables tests marked `REQUIRES: cuda-device`.
if has_cuda_device():
    config.available_features.add("cuda-device")
# The CUDA toolkit (libdevice for PTX generation, ptxas for the resource check).
cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
if os.path.exists(os.path.join(cuda_home, "nvvm", "libdevice")) and \
        shutil.which("ptxas", path=os.path.join(cuda_home, "bin") + os.pathsep +
                     os.environ.get("PATH", "")):
    config.available_features.add("cuda-toolkit")
    config.environment["CUDA_HOME"] = cuda_home
    llvm_config.with_environment("PATH", os.path.join(cuda_home, "bin"), append_path=True)
# numpy for the Python tests.
try:
    if subprocess.run([config.python_executable, "-c", "import numpy"],
                      capture_output=True, timeout=60).returncode == 0:
        config.available_features.add("numpy")
except Exception:
    pass
