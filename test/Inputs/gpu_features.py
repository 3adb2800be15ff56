"""Shared by test/lit.cfg.py and test/Device/lit.cfg.py."""
import shutil
import subprocess


def has_cuda_device():
    """True when nvidia-smi lists a GPU (enables `REQUIRES: cuda-device`)."""
    if not shutil.which("nvidia-smi"):
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True,
                              timeout=20).returncode == 0
    except Exception:
        return False
