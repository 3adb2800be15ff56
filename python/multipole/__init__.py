"""Multipole Attention python package.

- ``multipole.reference``: the float64 numpy reference of the algorithm (docs/Algorithm.md);
- ``multipole.runtime``: load a library made by ``multipole-compile`` and call its entry
  points on numpy arrays (``multipole.load(path)``).
"""
from . import reference
from .reference import (Config, Level, build_index, update_index, multipole_attention,
                        dense_attention, make_inputs)
from .runtime import Module, MultipoleError, load, to_bf16, from_bf16

__all__ = ["reference", "Config", "Level", "build_index", "update_index",
           "multipole_attention", "dense_attention", "make_inputs", "Module",
           "MultipoleError", "load", "to_bf16", "from_bf16"]
