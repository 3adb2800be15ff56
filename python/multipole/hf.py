"""Multipole attention inside Hugging Face transformers (issue 12).

Three lines turn a transformers decoder (Llama, Mistral, Qwen2, Qwen3) into a multipole
model; `model.generate` then runs every layer's decode step on the compiled library:

    import multipole.hf as mph
    mph.enable(model, library="model.so")   # or max_len=N to compile it from model.config
    out = model.generate(ids, max_new_tokens=64,
                         past_key_values=mph.MultipoleCache(model, batch_size=len(ids)))

The parts:

- ``DecodeCache`` (no transformers, no torch needed for CPU libraries): the cache logic. A
  ``multipole.ModelCache`` (one static KV region per layer, ``[bucket, Hkv, max_len, D]``,
  the layout of the library and of transformers' static cache; one index per layer) driven
  the way a decoder drives its cache: per forward, ``begin(T)`` says what the layers do
  (the prompt, one token, or several tokens), each layer writes (``prefill_padded``:
  the prompt compacted to the start of each row, padding dropped, then the layer's index is
  built; ``append_token``: the new token at each row's device-side length, capturable in a
  CUDA graph) and attends (``attend_token``: the compiled step; ``attend_dense``: dense
  attention over the cache), and ``finish`` after the last layer grows the lengths and runs
  the update of every layer when one is due (tracked on the host).
- ``MultipoleCache`` (needs transformers): a ``transformers.cache_utils.Cache`` whose layers
  are that static cache. Its ``update`` writes the new K/V; the attention function
  registered as ``"multipole"`` (``AttentionInterface.register``) then runs torch SDPA on
  the prompt and the layer's compiled step on each decode token, on torch's current stream.
- Dense fallback, with a one-line warning the first time: several query tokens after the
  prompt (a prefill chunk, assisted decoding), a batch over the library's largest bucket,
  a layer whose scaling or sliding window the library does not implement. The fallback is
  SDPA over the same cache with a per-row length mask.
- ``enable(model, library=None, **knobs)``: loads (or compiles, with ``multipole-compile
  --model``) the model library from ``model.config``, checks it against the model and
  switches the model's attention to ``"multipole"``.
- ``generate_graphed``: greedy decoding with each decode step replayed as one CUDA graph
  (manual capture: ``model.generate`` does not capture this cache, which is not
  ``is_compileable``).

Importing this module needs neither torch nor transformers; ``MultipoleCache``, ``enable``
and ``generate_graphed`` import them on first use and raise ImportError with a message if
they are missing.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import subprocess
import time
import warnings
from typing import List, Optional

import numpy as np

from .cache import ModelCache
from .runtime import Module, MultipoleError, load

ATTN_NAME = "multipole"
_WARNED: set = set()


def warn_once(key: str, message: str) -> bool:
    """A one-line RuntimeWarning the first time `key` comes up in this process."""
    if key in _WARNED:
        return False
    _WARNED.add(key)
    warnings.warn("multipole: " + message, RuntimeWarning, stacklevel=3)
    return True


def _host(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach()
        if x.dtype.is_floating_point:
            x = x.float()
        x = x.cpu().numpy()
    return np.asarray(x)


def valid_from_mask(mask, T: int):
    """Which of the T tokens of a prompt are real, per row ([B, T] bool numpy), from the mask
    a model hands its attention: None (no padding: None is returned), a 2D [B, >=T] mask
    (1 = token), or a 4D [B, 1, T, kv] mask, boolean (True = attend) or additive (0 = attend).
    The last query row of a 4D mask lists the keys the last token sees: the row's real
    tokens, with left or right padding."""
    if mask is None:
        return None
    m = _host(mask)
    if m.ndim == 2:
        row = m[:, :T]
        return row.astype(bool) if row.dtype == bool else row != 0
    if m.ndim != 4:
        raise MultipoleError(f"attention mask of shape {list(m.shape)}: expected 2D or 4D")
    row = m[:, 0, -1, :T]
    return row if row.dtype == bool else row == 0


def row_segments(valid, B: int, T: int):
    """Per row: (start, n, positions or None): the row's n real tokens among T, None when
    they are contiguous from `start` (left or right padding), else their positions."""
    if valid is None:
        return [(0, T, None)] * B
    v = np.asarray(valid, bool)
    v = v.reshape(v.shape[0], -1)[:, :T]
    if v.shape[0] != B:   # a mask broadcast over the batch
        v = np.broadcast_to(v[:1], (B, v.shape[1]))
    segs = []
    for b in range(B):
        idx = np.nonzero(v[b])[0]
        n = int(idx.size)
        if n == 0:
            segs.append((0, 0, None))
        elif idx[-1] - idx[0] + 1 == n:
            segs.append((int(idx[0]), n, None))
        else:
            segs.append((int(idx[0]), n, idx))
    return segs


def _dense_rows_np(q, k, v, starts, scale):
    """Causal dense attention over a compacted cache (numpy, float64): q [B, Hq, T, D]; token
    i of row b sits at position starts[b] + i and sees the keys [0, starts[b] + i]."""
    q = np.asarray(q, np.float64)
    B, Hq, T, D = q.shape
    H = k.shape[1]
    G = Hq // H
    out = np.zeros((B, Hq, T, D))
    for b in range(B):
        n = int(starts[b]) + T
        kk = np.asarray(k[b, :, :n], np.float64)
        vv = np.asarray(v[b, :, :n], np.float64)
        s = scale * np.einsum("hgtd,hnd->hgtn", q[b].reshape(H, G, T, D), kk)
        keep = np.arange(n)[None, :] <= (int(starts[b]) + np.arange(T))[:, None]
        s = np.where(keep, s, -np.inf)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        out[b] = np.einsum("hgtn,hnd->hgtd", p, vv).reshape(Hq, T, D)
    return out.astype(np.float32)


def _sdpa_backends():
    """SDPA with a mask and GQA: cuDNN first (it takes both; flash takes no mask and the
    memory-efficient kernel no GQA, which would leave the math kernel and its copies of K/V)."""
    import contextlib
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return contextlib.nullcontext()
    order = [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION,
             SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
    try:
        return sdpa_kernel(order, set_priority=True)
    except TypeError:  # torch without set_priority
        return sdpa_kernel(order)


class DecodeCache(ModelCache):
    """A model library's per-layer caches and indexes, driven as a transformers decoder
    drives its cache (see the module docstring). CPU libraries take numpy arrays, CUDA
    libraries torch tensors. `dense=True` keeps the same caches and attends densely (SDPA
    over the cache) on every layer: the baseline in the same layout. A batch over the
    library's largest bucket gets caches of its own size and dense attention."""

    def __init__(self, lib: Module, batch: int, device: Optional[str] = None,
                 dense: bool = False):
        model = lib.model
        if not model:
            raise MultipoleError(f"{lib.path} was not compiled with --model")
        if batch < 1:
            raise MultipoleError(f"batch {batch} must be >= 1")
        self.library_fits = batch <= int(model["max_batch"])
        super().__init__(lib, batch, device, own_rows=not self.library_fits)
        self.serves = self.library_fits and not dense
        self.scale = float(self.head_dim) ** -0.5
        self.layer_dense = [not self.serves] * self.layers
        self.seen = 0          # positions the model has processed (padding included)
        self.pending = 0       # tokens written in this forward, not yet in the lengths
        self.kind = None       # what this forward does: "prefill", "token", "tokens"
        self.forward_tokens = 0
        self.auto_advance = True   # finish() after the last layer's attention
        self.on_update = None      # called with the cache after every update
        self.keep_queries = False  # keep each layer's last decode query (references)
        self.static_shapes = False  # dense attention over the whole cache (CUDA graphs)
        self.queries: List = [None] * self.layers
        self.dense_calls = 0
        self._segments = None
        self._dmask = None
        if self.cuda:
            import torch
            dev = self._lens.device
            self._active = (torch.arange(self.rows, device=dev) < batch).to(torch.int32)
            self._rowsel = torch.arange(batch, device=dev)
            self._pos = torch.arange(self.max_len, device=dev)
        else:
            self._active = (np.arange(self.rows) < batch).astype(np.int32)
            self._rowsel = np.arange(batch)

    @property
    def dtype(self):
        return self.k[0].dtype

    def serves_layer(self, layer: int) -> bool:
        return self.serves and not self.layer_dense[layer] and self.index[layer] is not None

    def set_layer_dense(self, layer: int, why: str):
        """The library cannot serve this layer (e.g. its scaling): dense from now on."""
        if not self.layer_dense[layer]:
            warn_once("layer:" + why, f"{why}: the compiled step cannot serve it; dense "
                      "attention (SDPA over the cache) is used for such layers")
            self.layer_dense[layer] = True

    # -- one forward of the model ------------------------------------------------------
    def begin(self, T: int) -> str:
        """Called by the first layer of every forward with its number of new tokens T;
        returns what the layers do: "prefill" (the cache is empty), "token" (one decode
        token: the compiled step) or "tokens" (several: dense attention)."""
        if self.seen == 0:
            self.kind = "prefill"
        elif T == 1:
            self.kind = "token"
        else:
            self.kind = "tokens"
            warn_once("tokens", f"{T} query tokens in one forward after the prompt (a prefill "
                      "chunk or assisted decoding): the compiled step serves one token; dense "
                      "attention (SDPA over the cache) is used for such forwards")
        self.forward_tokens = T
        self._segments = None
        return self.kind

    def prefill_padded(self, layer: int, k, v, valid=None):
        """Writes a layer's prompt K/V as the model made it ([batch, Hkv, T, D], T padded
        positions; `valid` [batch, T]: the real tokens, None = all) compacted to the start of
        each row, and builds the layer's index where the library serves it."""
        B, H, T, D = k.shape
        if B != self.batch or H != self.kv_heads or D != self.head_dim:
            raise MultipoleError(f"prefill: K/V of shape {list(k.shape)} for a cache of batch "
                                 f"{self.batch}, {self.kv_heads} KV heads, head_dim {self.head_dim}")
        if self._segments is None:   # the first layer of the prompt's forward
            self._segments = row_segments(valid, B, T)
            n_max = max(n for _, n, _ in self._segments)
            if n_max > self.max_len:
                raise MultipoleError(f"prefill: a prompt of {n_max} tokens for a cache of "
                                     f"{self.max_len}")
            self.lengths = [n for _, n, _ in self._segments] + [0] * (self.rows - B)
            self._set_lens()
            self.clustered = [self._build_lc(n) for n in self.lengths]
        for b, (s, n, idx) in enumerate(self._segments):
            if n == 0:
                continue
            if idx is None:
                self.k[layer][b, :, :n] = k[b, :, s:s + n]
                self.v[layer][b, :, :n] = v[b, :, s:s + n]
            else:
                if self.cuda:
                    import torch
                    idx = torch.as_tensor(idx, device=k.device)
                self.k[layer][b, :, :n] = k[b][:, idx]
                self.v[layer][b, :, :n] = v[b][:, idx]
        if self.serves and not self.layer_dense[layer]:
            self.index[layer] = self.lib.build(self.k[layer], self.v[layer], self._lens,
                                               step=self.step_name)
        self.pending = 0

    def append_token(self, layer: int, k1, v1):
        """Writes one token's K/V ([batch, Hkv, D]) of a layer at each row's length, read on
        the device (so a captured CUDA graph writes at the current lengths on replay)."""
        if max(self.lengths[: self.batch]) >= self.max_len:
            raise MultipoleError(f"the cache is full ({self.max_len} tokens)")
        if self.cuda:
            pos = self._lens[: self.batch].long()
        else:
            pos = self._lens[: self.batch]
        self.k[layer][self._rowsel, :, pos] = k1
        self.v[layer][self._rowsel, :, pos] = v1
        if layer == 0:
            self._dmask = None
        self.pending = 1

    def append_tokens(self, layer: int, k, v):
        """Writes T tokens' K/V ([batch, Hkv, T, D]) at each row's end (host lengths)."""
        T = k.shape[2]
        if max(self.lengths[: self.batch]) + T > self.max_len:
            raise MultipoleError(f"the cache is full ({self.max_len} tokens)")
        for b in range(self.batch):
            n = self.lengths[b]
            self.k[layer][b, :, n:n + T] = k[b]
            self.v[layer][b, :, n:n + T] = v[b]
        self.pending = T

    def attend_token(self, layer: int, q):
        """The compiled step of a layer for the token just appended: q [batch, Hq, D] ->
        [batch, Hq, D], on torch's current stream (CUDA)."""
        if self.keep_queries:
            self.queries[layer] = q
        return self.attend(layer, q)

    def attend_dense(self, layer: int, q, scale: Optional[float] = None):
        """Dense attention of the forward's T new tokens (already written) over the cache:
        q [batch, Hq, T, D] -> [batch, Hq, T, D]; token i of row b sees the row's keys up to
        its own position. CUDA: SDPA with a per-row length mask over the cache (the whole
        cache while a CUDA graph is captured, so that replays see the current lengths)."""
        T = q.shape[2]
        scale = self.scale if scale is None else scale
        self.dense_calls += 1
        if self.keep_queries and T == 1:
            self.queries[layer] = q[:, :, 0]
        if not self.cuda:
            return _dense_rows_np(q, self.k[layer], self.v[layer], self.lengths[: self.batch],
                                  scale)
        import torch
        import torch.nn.functional as F
        B = self.batch
        whole = self.static_shapes or torch.cuda.is_current_stream_capturing()
        W = self.max_len if whole else min(self.max_len, max(self.lengths[:B]) + T)
        if T == 1 and self._dmask is not None and self._dmask.shape[-1] == W:
            mask = self._dmask
        else:
            last = self._lens[:B, None].long() + torch.arange(T, device=q.device)[None, :]
            mask = (self._pos[:W][None, None, :] <= last[:, :, None])[:, None]  # [B,1,T,W]
            if T == 1:
                self._dmask = mask
        k = self.k[layer][:B, :, :W]
        v = self.v[layer][:B, :, :W]
        with _sdpa_backends():
            try:
                return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale,
                                                      enable_gqa=True)
            except TypeError:  # torch < 2.5: no enable_gqa
                G = q.shape[1] // k.shape[1]
                return F.scaled_dot_product_attention(q, k.repeat_interleave(G, 1),
                                                      v.repeat_interleave(G, 1),
                                                      attn_mask=mask, scale=scale)

    def finish(self):
        """After the last layer of a forward: the lengths grow by the tokens written, the
        positions by the forward's tokens, and every layer's index is updated if a row is
        due (host bookkeeping; the device lengths are incremented in place)."""
        n, T = self.pending, self.forward_tokens
        self.seen += T
        self.pending = 0
        self._segments = None
        return self._grow(n)

    def advance(self, n: int = 1):
        """The host side of `n` decode tokens that ran without it (CUDA graph replays of a
        captured decode step): lengths, positions, updates when due."""
        self.seen += n
        self.pending = 0
        return self._grow(n)

    def _grow(self, n: int) -> bool:
        if n == 0:
            return False
        self.lengths = [x + n if b < self.batch else 0 for b, x in enumerate(self.lengths)]
        if self.cuda:
            self._lens.add_(self._active, alpha=n)
            self._step_lens.add_(self._active, alpha=n)
        else:
            self._lens += self._active * n
            self._step_lens += self._active * n
        if not self.serves:
            return False
        due = self._update_when_due()
        if due and self.on_update is not None:
            self.on_update(self)
        return due

    def reset(self):
        """An empty cache (the buffers are kept; indexes are rebuilt by the next prefill)."""
        self.lengths = [0] * self.rows
        self.clustered = [0] * self.rows
        self.index = [None] * self.layers
        self.seen = self.pending = self.forward_tokens = 0
        self.kind = None
        self._segments = self._dmask = None
        self._set_lens()


# ----------------------------------------------------------------------------------------------
# transformers: the cache class, the attention function, enable()
# ----------------------------------------------------------------------------------------------
_PENDING: dict = {}   # layer_idx -> (cache, plan): written by Cache.update, read by attention
_HF = None


def _import_hf():
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        from transformers.cache_utils import Cache, CacheLayerMixin  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "multipole.hf needs torch and transformers (5.x; the layered Cache API of 4.56 or "
            f"later) for MultipoleCache, enable and generate_graphed: {e}. The rest of multipole, "
            "multipole.hf.DecodeCache included, works without them.") from e


def _hf():
    """The transformers classes and functions, built on first use."""
    global _HF
    if _HF is None:
        _import_hf()
        _HF = _build_hf()
    return _HF


def __getattr__(name):
    if name in ("MultipoleCache", "MultipoleLayer", "attention_forward"):
        return getattr(_hf(), name)
    raise AttributeError(f"module 'multipole.hf' has no attribute '{name}'")


def _library_of(x) -> Module:
    if isinstance(x, Module):
        return x
    if isinstance(x, (str, os.PathLike)):
        return load(os.fspath(x))
    lib = getattr(x, "_multipole_library", None)
    if lib is None:
        raise MultipoleError("MultipoleCache(model, ...) needs multipole.hf.enable(model) "
                             "first (or pass the library: a path or multipole.load(...))")
    return lib


def _build_hf():
    import types

    import torch
    from transformers.cache_utils import Cache, CacheLayerMixin
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    def _count(query) -> int:
        # transformers passes the query length (5.x) or the cache_position tensor (earlier)
        if isinstance(query, (int, np.integer)):
            return int(query)
        return int(query.shape[-1])

    class MultipoleLayer(CacheLayerMixin):
        """One layer of a MultipoleCache: the layer's static region of the library's cache
        (keys / values [bucket, Hkv, max_len, D], rows compacted, lengths per row)."""
        is_compileable = False
        is_sliding = False
        supports_early_init = True

        def __init__(self, cache, layer):
            super().__init__()
            self._cache, self._layer = cache, layer
            core = cache.core
            self.keys, self.values = core.k[layer], core.v[layer]
            self.dtype, self.device = self.keys.dtype, self.keys.device
            self.batch_size, self.num_heads = core.batch, core.kv_heads
            self.head_dim = self.k_head_dim = self.v_head_dim = core.head_dim
            self.max_cache_len = core.max_len
            self.is_initialized = True

        def lazy_initialization(self, key_states=None, value_states=None, *a, **kw):
            pass  # allocated with the cache

        def update(self, key_states, value_states, *args, **kwargs):
            return self._cache._update(self._layer, key_states, value_states)

        def get_mask_sizes(self, query, *args, **kwargs):
            return self._cache.core.seen + _count(query), 0

        def get_seq_length(self, *args) -> int:
            return self._cache.core.seen

        def get_max_length(self) -> int:
            return self._cache.core.max_len

        def get_max_cache_shape(self) -> int:
            return self._cache.core.max_len

        def reset(self):
            self._cache.core.reset()

        def _unsupported(self, what):
            raise NotImplementedError(f"MultipoleCache does not support {what} (beam search, "
                                      "assisted or contrastive decoding); use greedy or sampled "
                                      "decoding")

        def reorder_cache(self, beam_idx):
            self._unsupported("reorder_cache")

        def crop(self, max_length):
            self._unsupported("crop")

        def batch_repeat_interleave(self, repeats):
            self._unsupported("batch_repeat_interleave")

        def batch_select_indices(self, indices):
            self._unsupported("batch_select_indices")

        def offload(self):
            pass

        def prefetch(self):
            pass

    # transformers versions differ in which layer methods are abstract: every one of them
    # is defined above, so none is left to block instantiation
    MultipoleLayer.__abstractmethods__ = frozenset()

    class MultipoleCache(Cache):
        """A transformers cache on a model library: pass it to `model.generate` as
        `past_key_values` after `multipole.hf.enable(model)`.

        MultipoleCache(model, batch_size=1): `model` was enabled (or pass the library: a
        path or a loaded multipole.Module). `dense=True`: same caches, dense attention on
        every layer (the baseline in the same layout). The cache holds `batch_size`
        sequences of up to the library's max_len tokens each (padding is dropped)."""

        def __init__(self, model_or_library, batch_size: int = 1, dense: bool = False,
                     device=None):
            lib = _library_of(model_or_library)
            if lib.target != "cuda":
                raise MultipoleError(f"{lib.path} is a CPU library; MultipoleCache runs CUDA "
                                     "libraries (--target=cuda) on torch tensors (the CPU "
                                     "logic is multipole.hf.DecodeCache, on numpy arrays)")
            self.core = DecodeCache(lib, batch_size, device=device, dense=dense)
            config = getattr(model_or_library, "config", None)
            if config is not None:
                n = getattr(config.get_text_config() if hasattr(config, "get_text_config")
                            else config, "num_hidden_layers", None)
                if n is not None and n != self.core.layers:
                    raise MultipoleError(f"the model has {n} layers, {lib.path} was compiled "
                                         f"for {self.core.layers}")
            if not self.core.library_fits:
                warn_once("batch", f"batch {batch_size} is over the library's largest bucket "
                          f"({lib.model['max_batch']}): dense attention (SDPA over the cache) "
                          "is used for this cache")
            layers = [MultipoleLayer(self, i) for i in range(self.core.layers)]
            try:
                super().__init__(layers=layers)
            except TypeError:  # a Cache.__init__ without `layers`
                super().__init__()
                self.layers = layers
            self._kind = None

        # transformers calls this through Cache.update, before the layer's attention
        def _update(self, layer, key_states, value_states):
            core = self.core
            pend = _PENDING.get(layer)
            if pend is not None and pend[0] is self:
                raise MultipoleError(
                    f"MultipoleCache: layer {layer} was written twice without its attention "
                    "running: switch the model's attention to multipole (multipole.hf.enable"
                    "(model)) before generating with this cache")
            B, H, T, D = key_states.shape
            if B != core.batch:
                raise MultipoleError(f"the cache holds {core.batch} sequences, the model runs "
                                     f"{B}: MultipoleCache(model, batch_size={B})")
            if key_states.dtype != core.dtype:
                raise MultipoleError(f"the model's K/V are {key_states.dtype}, the library's "
                                     f"cache is {core.dtype}: compile it for the model's dtype")
            if layer == 0:
                self._kind = core.begin(T)
            if self._kind == "prefill":
                _PENDING[layer] = (self, "prefill")   # written by the attention (it has the mask)
                return key_states, value_states
            if self._kind == "token":
                core.append_token(layer, key_states[:, :, 0], value_states[:, :, 0])
                plan = "step" if core.serves_layer(layer) else "dense"
            else:
                core.append_tokens(layer, key_states, value_states)
                plan = "dense"
            _PENDING[layer] = (self, plan)
            return core.k[layer], core.v[layer]

        def _attend(self, module, layer, plan, query, key, value, mask, dropout, scaling,
                    kwargs):
            core = self.core
            if plan == "prefill":
                if scaling is not None and abs(scaling - core.scale) > 1e-6 * core.scale:
                    core.set_layer_dense(layer, f"attention scaling {scaling:g} (the library "
                                         f"computes {core.scale:g})")
                if kwargs.get("sliding_window"):
                    core.set_layer_dense(layer, "a sliding-window layer")
                core.prefill_padded(layer, key, value, valid_from_mask(mask, query.shape[2]))
                out = sdpa_attention_forward(module, query, key, value, mask, dropout=dropout,
                                             scaling=scaling, **kwargs)
            elif plan == "step":
                o = core.attend_token(layer, query[:, :, 0].contiguous())
                out = (o.unsqueeze(1), None)
            else:
                o = core.attend_dense(layer, query, scaling)
                out = (o.transpose(1, 2).contiguous(), None)
            if layer == core.layers - 1 and core.auto_advance:
                core.finish()
            return out

        def advance(self, n: int = 1):
            """The host side of n decode steps replayed from a CUDA graph."""
            return self.core.advance(n)

        def reset(self):
            self.core.reset()
            for i in list(_PENDING):
                if _PENDING[i][0] is self:
                    del _PENDING[i]

        def get_seq_length(self, layer_idx: int = 0) -> int:
            return self.core.seen

        def get_max_length(self, layer_idx=None) -> int:
            return self.core.max_len

        def get_max_cache_shape(self, layer_idx: int = 0) -> int:
            return self.core.max_len

        def get_mask_sizes(self, query, layer_idx: int = 0):
            return self.core.seen + _count(query), 0

        @property
        def is_compileable(self) -> bool:
            return False

        @property
        def updates(self) -> int:
            return self.core.updates

    def attention_forward(module, query, key, value, attention_mask, dropout: float = 0.0,
                          scaling: Optional[float] = None, **kwargs):
        """The "multipole" attention: the layer's compiled step for a decode token of a
        MultipoleCache, SDPA on the prompt; plain SDPA when the cache is not a
        MultipoleCache (the model stays usable with any cache)."""
        entry = _PENDING.pop(getattr(module, "layer_idx", None), None)
        if entry is None:
            return sdpa_attention_forward(module, query, key, value, attention_mask,
                                          dropout=dropout, scaling=scaling, **kwargs)
        cache, plan = entry
        return cache._attend(module, module.layer_idx, plan, query, key, value,
                             attention_mask, dropout, scaling, kwargs)

    def register():
        try:
            from transformers import AttentionInterface
        except ImportError:
            from transformers.modeling_utils import AttentionInterface
        AttentionInterface.register(ATTN_NAME, attention_forward)
        try:  # the prompt's mask: the one SDPA gets
            from transformers.masking_utils import (ALL_MASK_ATTENTION_FUNCTIONS,
                                                    AttentionMaskInterface)
            AttentionMaskInterface.register(ATTN_NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
        except (ImportError, KeyError, AttributeError):
            pass

    register()
    return types.SimpleNamespace(MultipoleCache=MultipoleCache, MultipoleLayer=MultipoleLayer,
                                 attention_forward=attention_forward, register=register,
                                 torch=torch)


def _text_config(config):
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def model_config_json(config, dtype=None) -> dict:
    """The model's config as the `multipole-compile --model` reader takes it: the dtype the
    model runs in, rope_theta at the top level (transformers 5 keeps it in rope_parameters)."""
    if hasattr(config, "to_json_string"):
        d = json.loads(config.to_json_string(use_diff=False))
    else:
        d = dict(config)
    d = dict(_text_config_dict(d))
    if dtype is not None:
        d["dtype"] = d["torch_dtype"] = _dtype_name(dtype)
    rp = d.get("rope_parameters")
    if isinstance(rp, dict):
        if "rope_theta" not in d and "rope_theta" in rp:
            d["rope_theta"] = rp["rope_theta"]
        if rp.get("rope_type", "default") != "default" and not d.get("rope_scaling"):
            d["rope_scaling"] = rp
    return d


def _text_config_dict(d: dict) -> dict:
    sub = d.get("text_config")
    return sub if isinstance(sub, dict) and "num_hidden_layers" in sub else d


def _find_compiler(compiler: Optional[str]) -> str:
    for c in (compiler, os.environ.get("MULTIPOLE_COMPILE"), shutil.which("multipole-compile"),
              os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin",
                           "multipole-compile")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise MultipoleError("multipole-compile not found (PATH, $MULTIPOLE_COMPILE, build/bin): "
                         "compile the library where MLIR is installed and pass library=PATH")


def rewrite_options(knobs: dict) -> str:
    """`budget_fraction=0.1, interval=64` -> "budget-fraction=0.1 interval=64"."""
    def fmt(x):
        return ("true" if x else "false") if isinstance(x, bool) else str(x)
    return " ".join(f"{k.replace('_', '-')}={fmt(v)}" for k, v in sorted(knobs.items()))


def compile_model(config, max_len: int, max_batch: int = 1, dtype=None, out: Optional[str] = None,
                  target: str = "cuda", compiler: Optional[str] = None,
                  gpu_options: Optional[str] = None, **knobs) -> str:
    """Compiles the model library of a transformers config with `multipole-compile --model`
    (knobs: the rewrite options, e.g. budget_fraction=0.1); returns its path. Without `out`
    it goes to $MULTIPOLE_CACHE_DIR (default ~/.cache/multipole), named by a hash of the
    config and options, and an existing one is reused."""
    cfg = model_config_json(config, dtype)
    opts = rewrite_options(knobs)
    args = [f"--max-len={int(max_len)}", f"--max-batch={int(max_batch)}", f"--target={target}"]
    if opts:
        args.append(f"--rewrite-options={opts}")
    if gpu_options:
        args.append(f"--gpu-options={gpu_options}")
    text = json.dumps(cfg, sort_keys=True)
    key = hashlib.sha256((text + "\0" + "\0".join(args)).encode()).hexdigest()[:16]
    if out is None:
        root = os.environ.get("MULTIPOLE_CACHE_DIR",
                              os.path.join(os.path.expanduser("~"), ".cache", "multipole"))
        os.makedirs(root, exist_ok=True)
        out = os.path.join(root, f"{cfg.get('model_type', 'model')}-{key}.so")
        if os.path.exists(out):
            return out
    cfg_path = out + ".config.json"
    with open(cfg_path, "w") as f:
        f.write(text)
    cmd = [_find_compiler(compiler), f"--model={cfg_path}"] + args + ["-o", out]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise MultipoleError(f"multipole-compile failed ({' '.join(cmd)}):\n{p.stderr[-2000:]}")
    return out


def check_library(lib: Module, config, dtype=None):
    """Raises MultipoleError unless `lib` is a model library for this config (heads, KV
    heads, head_dim, layers, dtype)."""
    m = lib.model
    if not m:
        raise MultipoleError(f"{lib.path} was not compiled with --model")
    c = _text_config(config)
    heads = c.num_attention_heads
    want = {"num_attention_heads": heads,
            "num_key_value_heads": getattr(c, "num_key_value_heads", None) or heads,
            "head_dim": getattr(c, "head_dim", None) or c.hidden_size // heads,
            "layers": c.num_hidden_layers}
    if dtype is not None:
        want["dtype"] = {"bfloat16": "bf16", "float16": "f16", "float32": "f32"}.get(
            _dtype_name(dtype), _dtype_name(dtype))
    bad = [f"{k} {m.get(k)} (the model has {v})" for k, v in want.items() if m.get(k) != v]
    if bad:
        raise MultipoleError(f"{lib.path} does not fit the model: " + ", ".join(bad))


def enable(model, library=None, max_len: Optional[int] = None, max_batch: int = 1,
           **knobs) -> Module:
    """Switches `model` (a transformers decoder: Llama, Mistral, Qwen2, Qwen3) to multipole
    attention and returns its library. `library`: a path or a loaded multipole.Module made
    by `multipole-compile --model`; without it the library is compiled here from
    model.config (multipole-compile must be installed) for caches of `max_len` tokens
    (default: max_position_embeddings) and up to `max_batch` sequences, with `knobs` as
    rewrite options (e.g. budget_fraction=0.1). Then pass
    `multipole.hf.MultipoleCache(model, batch_size=B)` to `model.generate`."""
    hf = _hf()
    dtype = getattr(model, "dtype", None)
    if library is None:
        c = _text_config(model.config)
        library = compile_model(model.config, max_len or c.max_position_embeddings, max_batch,
                                dtype=dtype, **knobs)
    elif knobs or max_len is not None:
        raise MultipoleError("knobs and max_len are compile options: give them without "
                             "`library`, or compile the library with them")
    lib = _library_of(library)
    check_library(lib, model.config, dtype)
    hf.register()
    try:
        model.set_attn_implementation(ATTN_NAME)
    except (AttributeError, TypeError, ValueError, KeyError):
        model.config._attn_implementation = ATTN_NAME
    if getattr(model.config, "_attn_implementation", None) != ATTN_NAME:
        model.config._attn_implementation = ATTN_NAME
    model._multipole_library = lib
    return lib


# ----------------------------------------------------------------------------------------------
# CUDA graphs: greedy decoding with each decode step one captured graph
# ----------------------------------------------------------------------------------------------
def _accepts(fn, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class GraphedDecoder:
    """Greedy decoding of `model` on a MultipoleCache with each decode step (the forward of
    one token per row, its argmax, and the next step's inputs) captured once as a CUDA
    graph and replayed; between replays the cache's host side runs (`cache.advance()`:
    lengths, updates when due, eagerly on torch's stream).

        dec = GraphedDecoder(model, cache, input_ids, attention_mask)
        first = dec.prefill()          # eager prompt forward; the first new token
        dec.capture()                  # one eager decode step, then the capture
        for _ in range(n): tok = dec.step()

    Positions follow transformers' generate: a row's tokens count from its first real one.
    The model gets a 4D dummy mask (the cache's own lengths mask the attention)."""

    def __init__(self, model, cache, input_ids, attention_mask=None):
        hf = _hf()
        torch = hf.torch
        self.torch, self.model, self.cache = torch, model, cache
        self.core = cache.core
        B, T = input_ids.shape
        self.B, self.T = B, T
        dev = input_ids.device
        self.ids = input_ids
        self.mask2d = (torch.ones_like(input_ids) if attention_mask is None
                       else attention_mask.to(dev, torch.long))
        self.logits_kw = {"logits_to_keep": 1} if _accepts(model.forward, "logits_to_keep") else {}
        self.with_cpos = _accepts(model.forward, "cache_position")
        self.graph = None
        self.tokens = []

    def _forward(self, **kw):
        out = self.model(**kw, **self.logits_kw, use_cache=True)
        return out.logits[:, -1]

    def prefill(self):
        torch = self.torch
        m = self.mask2d
        pos = (m.cumsum(-1) - 1).masked_fill(m == 0, 1)   # as transformers' generate
        kw = dict(input_ids=self.ids, attention_mask=m, position_ids=pos,
                  past_key_values=self.cache)
        if self.with_cpos:
            kw["cache_position"] = torch.arange(self.T, device=self.ids.device)
        with torch.no_grad():
            first = self._forward(**kw).argmax(-1)
        dev = self.ids.device
        self.s_ids = first[:, None].clone()
        self.s_pos = m.sum(-1, keepdim=True).clone()                  # [B, 1]
        self.s_cpos = torch.full((1,), self.T, dtype=torch.long, device=dev)
        self.s_mask = torch.ones(self.B, 1, 1, 1, dtype=torch.bool, device=dev)
        self.s_next = torch.empty(self.B, dtype=torch.long, device=dev)
        self.tokens = [first]
        return first

    def _decode_step(self):
        kw = dict(input_ids=self.s_ids, position_ids=self.s_pos, attention_mask=self.s_mask,
                  past_key_values=self.cache)
        if self.with_cpos:
            kw["cache_position"] = self.s_cpos
        nxt = self._forward(**kw).argmax(-1)
        self.s_next.copy_(nxt)
        self.s_ids.copy_(nxt[:, None])
        self.s_pos.add_(1)
        self.s_cpos.add_(1)

    def capture(self):
        """One eager decode step (the warm-up, a real token), then the capture."""
        torch = self.torch
        self.core.static_shapes = True
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.no_grad(), torch.cuda.stream(side):
            self._decode_step()                       # eager: finish() runs after the last layer
        torch.cuda.current_stream().wait_stream(side)
        self.tokens.append(self.s_next.clone())
        self.core.auto_advance = False
        try:
            g = torch.cuda.CUDAGraph()
            with torch.no_grad(), torch.cuda.graph(g):
                self._decode_step()
        finally:
            self.core.auto_advance = True
        _PENDING.clear()
        self.graph = g
        return g

    def step(self):
        """Replays the decode step (a token per row) and runs the cache's host side."""
        if max(self.core.lengths[: self.B]) >= self.core.max_len:
            raise MultipoleError(f"the cache is full ({self.core.max_len} tokens)")
        self.graph.replay()
        self.core.advance(1)
        tok = self.s_next.clone()
        self.tokens.append(tok)
        return tok

    def output(self):
        torch = self.torch
        return torch.cat([self.ids, torch.stack(self.tokens, 1)], 1)


def generate_graphed(model, input_ids, past_key_values, attention_mask=None,
                     max_new_tokens: int = 64, timings: Optional[dict] = None):
    """Greedy decoding like `model.generate(input_ids, attention_mask=..., do_sample=False,
    max_new_tokens=..., past_key_values=cache)` (no stopping token), each decode step
    replayed from one CUDA graph (GraphedDecoder); returns [B, T + max_new_tokens] token ids.
    `timings` (a dict) gets prefill_s, capture_s and decode_s (the replays, synchronized)."""
    dec = GraphedDecoder(model, past_key_values, input_ids, attention_mask)
    torch = dec.torch
    n_cap = max(0, max_new_tokens - 1)
    if int(dec.mask2d.sum(-1).max()) + n_cap > past_key_values.core.max_len:
        raise MultipoleError(f"{max_new_tokens} new tokens do not fit the cache "
                             f"({past_key_values.core.max_len} tokens)")
    t0 = time.perf_counter()
    dec.prefill()
    torch.cuda.synchronize()
    t1 = time.perf_counter()
    if n_cap > 0:
        dec.capture()
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    for _ in range(max(0, n_cap - 1)):
        dec.step()
    torch.cuda.synchronize()
    t3 = time.perf_counter()
    if timings is not None:
        timings.update(prefill_s=t1 - t0, capture_s=t2 - t1, decode_s=t3 - t2,
                       decode_tokens=max(0, n_cap - 1))
    return dec.output()[:, : dec.T + max_new_tokens]
