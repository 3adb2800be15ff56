"""Multipole Attention python package: the float64 numpy reference (``multipole.reference``)."""
from . import reference
from .reference import (Config, Level, build_index, update_index, multipole_attention,
                        dense_attention, make_inputs)

__all__ = ["reference", "Config", "Level", "build_index", "update_index",
           "multipole_attention", "dense_attention", "make_inputs"]
