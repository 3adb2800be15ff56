"""Multipole Attention python package.

- ``multipole.reference``: the float64 numpy reference of the algorithm (docs/Algorithm.md);
- ``multipole.runtime``: load a library made by ``multipole-compile``
  (``multipole.load(path)``) and call ``build`` / ``update`` / ``step`` on numpy arrays
  (CPU libraries) or torch CUDA tensors (CUDA libraries, on torch's current stream);
- ``multipole.torch_ops``: the CUDA entry points as torch custom ops
  (``torch.ops.multipole.*``), imported on first use of a CUDA library;
- ``multipole.cache``: ``ModelCache``, every layer's KV cache and index for the generation
  loop over a model library (``multipole-compile --model``).
"""
from . import reference
from .reference import (Config, Level, build_index, update_index, multipole_attention,
                        dense_attention, make_inputs)
from .runtime import Module, MultipoleError, load, to_bf16, from_bf16, to_numpy, to_torch
from .cache import ModelCache

__all__ = ["reference", "Config", "Level", "build_index", "update_index",
           "multipole_attention", "dense_attention", "make_inputs", "Module",
           "MultipoleError", "load", "to_bf16", "from_bf16", "to_numpy", "to_torch",
           "ModelCache"]
