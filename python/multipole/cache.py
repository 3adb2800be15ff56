"""The generation loop over a model library (``multipole-compile --model``): every
layer's static KV cache and cluster index, and when to update them.

``ModelCache(lib, batch)`` holds, per layer, k and v caches of the library's shape
(``[bucket, Hkv, max_len, D]``: the smallest batch bucket that fits ``batch``, rows past
``batch`` of length 0) and the layer's index. The loop a model runs:

    cache = ModelCache(lib, batch=2)
    for layer in range(L):                      # prefill
        cache.prefill(layer, k_layer, v_layer, lengths)   # writes K/V, builds the index
    for token in ...:                           # decode
        for layer in range(L):
            cache.append(layer, k_new, v_new)   # the new token's K/V at each sequence's end
            out = cache.attend(layer, q)        # the compiled step over the cache
        cache.advance()                         # lengths + 1; updates every due layer

An index is updated when a sequence has 2 x interval tokens past its clustered region
(docs/Algorithm.md "Online update"), which the cache tracks on the host from the lengths it
wrote, so asking costs nothing on the device. CPU libraries take numpy arrays; CUDA
libraries take torch tensors on the library's device, and every call runs on torch's
current stream (the library's entry points do).
"""
from __future__ import annotations

import re
from typing import List, Optional

import numpy as np

from .runtime import Module, MultipoleError


def _config_int(config: str, key: str, default: int) -> int:
    m = re.search(rf"\b{key} = (-?\d+)", config)
    return int(m.group(1)) if m else default


class ModelCache:
    """Per-layer KV caches and indexes of one batch for a model library."""

    def __init__(self, lib: Module, batch: int, device: Optional[str] = None,
                 own_rows: bool = False):
        """`own_rows`: caches of exactly `batch` rows in the library's layout and no step
        (step_name None): for a batch no bucket holds, attended by other means."""
        model = lib.model
        if not model:
            raise MultipoleError(f"{lib.path} was not compiled with --model")
        self.lib, self.batch = lib, batch
        self.step_name = None if own_rows else lib.step_for_batch(batch)
        step = lib.step_entry(self.step_name or lib.step_for_batch(int(model["max_batch"])))
        shape = {a["role"]: a["shape"] for a in step.args}
        self.rows, self.kv_heads, self.max_len, self.head_dim = shape["k"]
        if own_rows:
            self.rows = batch
        self.layers = model["layers"]
        self.sink = _config_int(lib.manifest.get("config", ""), "sink", 16)
        self.interval = _config_int(lib.manifest.get("config", ""), "interval", 128)
        dtype = {a["role"]: a["dtype"] for a in step.args}["k"]
        self.cuda = lib.target == "cuda"
        if self.cuda:
            import torch
            from .runtime import _TORCH
            self._zeros = lambda s: torch.zeros(s, dtype=getattr(torch, _TORCH[dtype]),
                                                device=device or "cuda")
            self._lens = torch.zeros(self.rows, dtype=torch.int32, device=device or "cuda")
        else:
            self._zeros = lambda s: np.zeros(s, np.float32)
            self._lens = np.zeros(self.rows, np.int32)
        kv = (self.rows, self.kv_heads, self.max_len, self.head_dim)
        # Lengths of the step being decoded (lens + 1 on the active rows) and the
        # padded query of a bucket larger than the batch: kept, not rebuilt per layer.
        self._step_lens = self._lens.copy() if not self.cuda else self._lens.clone()
        self._q = None if self.rows == self.batch else self._zeros(
            (self.rows, shape["q"][1], self.head_dim))
        self.k = [self._zeros(kv) for _ in range(self.layers)]
        self.v = [self._zeros(kv) for _ in range(self.layers)]
        self.index: List[Optional[list]] = [None] * self.layers
        self.lengths = [0] * self.rows        # host copy of the lengths written
        self.clustered = [0] * self.rows      # host copy of each sequence's Lc
        self.updates = 0

    # -- prefill ----------------------------------------------------------------------
    def prefill(self, layer: int, k, v, lengths):
        """Writes a layer's prompt K/V ([batch, Hkv, n, D], n >= max(lengths)) and builds
        its index. Every layer is prefilled with the same lengths."""
        lengths = [int(n) for n in lengths]
        if len(lengths) != self.batch or max(lengths) > self.max_len or min(lengths) < 0:
            raise MultipoleError(f"prefill: {len(lengths)} lengths up to {max(lengths)} for a "
                                 f"cache of batch {self.batch} and {self.max_len} tokens")
        n = max(lengths)
        self.k[layer][: self.batch, :, :n] = k[:, :, :n]
        self.v[layer][: self.batch, :, :n] = v[:, :, :n]
        self.lengths = lengths + [0] * (self.rows - self.batch)
        self._set_lens()
        self.index[layer] = self.lib.build(self.k[layer], self.v[layer], self._lens,
                                           step=self.step_name)
        self.clustered = [self._build_lc(n) for n in self.lengths]

    # -- decode -----------------------------------------------------------------------
    def append(self, layer: int, k1, v1):
        """Writes one token's K/V ([batch, Hkv, D]) of a layer at each sequence's end."""
        for b, n in enumerate(self.lengths[: self.batch]):
            if n >= self.max_len:
                raise MultipoleError(f"sequence {b} is full ({self.max_len} tokens)")
            self.k[layer][b, :, n] = k1[b]
            self.v[layer][b, :, n] = v1[b]

    def attend(self, layer: int, q):
        """The attention output ([batch, Hq, D]) of a layer for the token just appended
        (its length counts it)."""
        qp = q
        if self._q is not None:
            self._q[: self.batch] = q
            qp = self._q
        out = self.lib.step(qp, self.k[layer], self.v[layer], self._step_lens,
                            self.index[layer], step=self.step_name)
        return out[: self.batch]

    def advance(self):
        """After every layer has appended and attended: the lengths grow by one, and every
        layer's index is updated if a sequence is due."""
        self.lengths = [n + 1 if b < self.batch else 0 for b, n in enumerate(self.lengths)]
        self._set_lens()
        return self._update_when_due()

    def _update_when_due(self) -> bool:
        """Every layer's index is updated (those that have one) if a sequence has
        2 x interval tokens past its clustered region; returns whether it was."""
        due = False
        for b, n in enumerate(self.lengths):
            while n - self.sink - self.clustered[b] >= 2 * self.interval:
                self.clustered[b] += self.interval
                due = True
        if due:
            for layer in range(self.layers):
                if self.index[layer] is not None:
                    self.lib.update(self.k[layer], self.v[layer], self._lens,
                                    self.index[layer], step=self.step_name)
            self.updates += 1
        return due

    # -- helpers ----------------------------------------------------------------------
    def _build_lc(self, n: int) -> int:
        """The clustered length a build gives a sequence of n tokens (docs/Algorithm.md)."""
        I, S = self.interval, self.sink
        return max(0, (n - S - I) // I) * I

    def _set_lens(self):
        """The device lengths from the host ones, once per token: the cache's
        (`_lens`) and the step's (`_step_lens`: the token being decoded counts)."""
        step = [n + 1 if b < self.batch else 0 for b, n in enumerate(self.lengths)]
        if self.cuda:
            import torch
            self._lens.copy_(torch.tensor(self.lengths, dtype=torch.int32))
            self._step_lens.copy_(torch.tensor(step, dtype=torch.int32))
        else:
            self._lens[:] = self.lengths
            self._step_lens[:] = step
