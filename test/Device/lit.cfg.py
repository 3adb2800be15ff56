# The GPU tests, as a lit suite that runs on a GPU machine without MLIR: the
# CUDA libraries are compiled beforehand (bench/compile_libs.sh) and lit and
# FileCheck travel with them (bench/device_tools.sh). On the GPU machine:
#   python3 bench/tools/lit.py -v test/Device
# Parameters: -Dlibs=DIR (default bench/libs), -Druntime=PATH (default
# build/lib/libmultipole_cuda_runtime.so).
import os
import shutil
import sys

import lit.formats

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Inputs"))
from gpu_features import has_cuda_device  # noqa: E402

config.name = "MULTIPOLE-DEVICE"
config.test_format = lit.formats.ShTest(True)
config.suffixes = [".test"]
config.excludes = ["lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
root = os.path.dirname(os.path.dirname(config.test_source_root))
config.test_exec_root = os.path.join(root, "build", "test-device")

libs = os.path.abspath(lit_config.params.get("libs", os.path.join(root, "bench", "libs")))
runtime = os.path.abspath(lit_config.params.get(
    "runtime", os.path.join(root, "build", "lib", "libmultipole_cuda_runtime.so")))
tools = os.path.join(root, "bench", "tools")
filecheck = shutil.which("FileCheck") or os.path.join(tools, "bin", "FileCheck")
if not os.path.exists(filecheck):
    lit_config.fatal("FileCheck not found: run bench/device_tools.sh where LLVM is installed")
if not os.path.isdir(libs):
    lit_config.fatal(f"no compiled libraries in {libs}: run bench/compile_libs.sh first")

config.substitutions.append(("%python", sys.executable))
config.substitutions.append(("%root", root))
config.substitutions.append(("%libs", libs))
config.substitutions.append(("FileCheck", filecheck))
config.environment["MULTIPOLE_CUDA_RUNTIME"] = runtime
config.environment["LD_LIBRARY_PATH"] = os.pathsep.join(
    [os.path.join(tools, "lib"), os.environ.get("LD_LIBRARY_PATH", "")])
for var in ("PATH", "HOME", "CUDA_VISIBLE_DEVICES"):
    if var in os.environ:
        config.environment[var] = os.environ[var]
# The package of this checkout first (scripts under test/Inputs import multipole).
config.environment["PYTHONPATH"] = os.pathsep.join(
    [os.path.join(root, "python")] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ else []))

if has_cuda_device():
    config.available_features.add("cuda-device")
