"""CUDA libraries as torch custom ops: ``torch.ops.multipole.build / update / step``.

Every call runs on torch's current stream (or the stream given to ``Module.build`` /
``update`` / ``step``), queues its kernels and returns without synchronizing, so it is
ordered with the caller's torch work, captured by ``torch.cuda.graph``, and seen by
``torch.compile`` as one opaque op with a known output shape (the fake kernels below).

The ops take an integer handle of a loaded entry point (``register(entry)``) and the index
as a list of tensors in manifest order (``L0.centroids``, ``L0.vcentroids``, ...).
With a torch older than 2.4 (no ``torch.library.custom_op``) the same functions call the
library directly.
"""

from typing import Dict, List

import torch

_ENTRIES: list = []     # handle -> Entry


def register(entry) -> int:
    """Gives `entry` a small integer handle for the custom ops (entries live as long as
    the process, as loaded libraries do). Done when a CUDA library is loaded, so that
    traced code (torch.compile) only reads ``entry._mp_handle``."""
    if entry._mp_handle is None:
        entry._mp_handle = len(_ENTRIES)
        _ENTRIES.append(entry)
    return entry._mp_handle


def _index_roles(entry) -> List[str]:
    return [a["role"] for a in entry.args if a["role"].startswith("L")]


def _out_args(entry) -> list:
    return [a for a in entry.args if a["io"] == "out"]


def _dtype(a):
    from .runtime import _TORCH
    return getattr(torch, _TORCH[a["dtype"]])


def _step_impl(h: int, q, k, v, lens, index):
    e = _ENTRIES[h]
    arrays = dict(q=q, k=k, v=v, lens=lens, **dict(zip(_index_roles(e), index)))
    return e._call_cuda(arrays)["out"]


def _build_impl(h: int, k, v, lens):
    e = _ENTRIES[h]
    res = e._call_cuda(dict(k=k, v=v, lens=lens))
    return [res[a["role"]] for a in _out_args(e)]


def _update_impl(h: int, k, v, lens, index) -> None:
    e = _ENTRIES[h]
    e._call_cuda(dict(k=k, v=v, lens=lens, **dict(zip(_index_roles(e), index))))


HAS_CUSTOM_OPS = hasattr(torch, "library") and hasattr(torch.library, "custom_op")

if HAS_CUSTOM_OPS:
    @torch.library.custom_op("multipole::step", mutates_args=())
    def _step_op(handle: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                 lens: torch.Tensor, index: List[torch.Tensor]) -> torch.Tensor:
        return _step_impl(handle, q, k, v, lens, index)

    @_step_op.register_fake
    def _(handle, q, k, v, lens, index):
        a = next(a for a in _ENTRIES[handle].args if a["role"] == "out")
        return q.new_empty(tuple(a["shape"]), dtype=_dtype(a))

    @torch.library.custom_op("multipole::build", mutates_args=())
    def _build_op(handle: int, k: torch.Tensor, v: torch.Tensor,
                  lens: torch.Tensor) -> List[torch.Tensor]:
        return _build_impl(handle, k, v, lens)

    @_build_op.register_fake
    def _(handle, k, v, lens):
        return [k.new_empty(tuple(a["shape"]), dtype=_dtype(a))
                for a in _out_args(_ENTRIES[handle])]

    @torch.library.custom_op("multipole::update", mutates_args=("index",))
    def _update_op(handle: int, k: torch.Tensor, v: torch.Tensor, lens: torch.Tensor,
                   index: List[torch.Tensor]) -> None:
        _update_impl(handle, k, v, lens, index)

    @_update_op.register_fake
    def _(handle, k, v, lens, index):
        return None

    _STEP, _BUILD, _UPDATE = (torch.ops.multipole.step, torch.ops.multipole.build,
                              torch.ops.multipole.update)
else:  # torch < 2.4: plain calls, same semantics (no torch.compile integration)
    _STEP, _BUILD, _UPDATE = _step_impl, _build_impl, _update_impl


def _check_index(entry, flat: Dict[str, torch.Tensor]) -> list:
    from .runtime import MultipoleError
    roles = _index_roles(entry)
    missing = [r for r in roles if r not in flat]
    extra = sorted(set(flat) - set(roles))
    if missing or extra:
        raise MultipoleError(f"{entry.name}: the index does not match the library "
                             f"(missing {missing}, unexpected {extra}); it expects "
                             f"{len(roles) // 7} level(s)")
    return [flat[r] for r in roles]


def step(entry, q, k, v, lens, flat_index: Dict[str, torch.Tensor], stream=None):
    """The decode step of a CUDA library: returns `out`, queued on the stream."""
    index = _check_index(entry, flat_index)
    if stream is None:
        return _STEP(entry._mp_handle, q, k, v, lens, index)
    with torch.cuda.stream(stream):
        return _STEP(entry._mp_handle, q, k, v, lens, index)


def build(entry, k, v, lens, stream=None) -> Dict[str, torch.Tensor]:
    """Builds the index: a dict of fresh tensors by role, queued on the stream."""
    if stream is None:
        outs = _BUILD(entry._mp_handle, k, v, lens)
    else:
        with torch.cuda.stream(stream):
            outs = _BUILD(entry._mp_handle, k, v, lens)
    return {a["role"]: t for a, t in zip(_out_args(entry), outs)}


def update(entry, k, v, lens, flat_index: Dict[str, torch.Tensor], stream=None) -> None:
    """Updates the index in place, queued on the stream."""
    index = _check_index(entry, flat_index)
    if stream is None:
        _UPDATE(entry._mp_handle, k, v, lens, index)
    else:
        with torch.cuda.stream(stream):
            _UPDATE(entry._mp_handle, k, v, lens, index)
