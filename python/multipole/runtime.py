"""Load a library made by ``multipole-compile`` and call its entry points on numpy arrays.

The library exports ``_mlir_ciface_<name>`` for each entry point and a JSON manifest
(``__multipole_manifest``, see docs/ABI.md) that names every argument's role, element type,
shape and direction (in / out / inout). Each argument is passed as a pointer to an MLIR
memref descriptor ``{allocated, aligned, offset, sizes[r], strides[r]}`` (int64 fields).

bf16 arrays are exchanged as ``numpy.uint16`` bit patterns (numpy has no bfloat16);
:func:`to_bf16` / :func:`from_bf16` convert. Float inputs given for a bf16 argument are
converted automatically (round to nearest even).
"""
from __future__ import annotations

import ctypes
import json
import os
from typing import Dict, List, Optional

import numpy as np

INDEX_KEYS = ("centroids", "vcentroids", "counts", "offsets", "members", "assign", "state")

_NP = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "bf16": np.uint16,
       "i32": np.int32, "i64": np.int64, "i8": np.int8}


class MultipoleError(RuntimeError):
    """A compiled library or its inputs are not usable (bad shape, missing role, ...)."""


def to_bf16(x) -> np.ndarray:
    """float array -> bf16 bit patterns (uint16), round to nearest even; NaN stays NaN."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    u = x.view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FC0), r)


def from_bf16(b) -> np.ndarray:
    """bf16 bit patterns (uint16) -> float32."""
    b = np.ascontiguousarray(b, dtype=np.uint16)
    return (b.astype(np.uint32) << 16).view(np.float32)


def to_numpy(t) -> np.ndarray:
    """A torch tensor (any device) or array as numpy, torch.bfloat16 as bf16 bit patterns
    (uint16, the package's convention: numpy has no bfloat16). An index's centroids are
    bf16 by default, so this is how to look at a CUDA library's index on the host."""
    if hasattr(t, "detach"):
        t = t.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            import torch
            return t.contiguous().view(torch.int16).numpy().view(np.uint16)
        return t.numpy()
    return np.asarray(t)


def to_torch(x, device="cuda"):
    """A numpy array as a torch tensor on `device`, uint16 bf16 bit patterns as
    torch.bfloat16 (the inverse of to_numpy)."""
    import torch
    x = np.ascontiguousarray(x)
    if x.dtype == np.uint16:
        return torch.from_numpy(x.view(np.int16)).view(torch.bfloat16).to(device)
    return torch.from_numpy(x).to(device)


_RUNTIME = None


def cuda_runtime():
    """Loads libmultipole_cuda_runtime.so (RTLD_GLOBAL, so compiled CUDA libraries bind
    to it): $MULTIPOLE_CUDA_RUNTIME, or build/lib next to this package's checkout."""
    global _RUNTIME
    if _RUNTIME is None:
        import os
        path = os.environ.get("MULTIPOLE_CUDA_RUNTIME") or os.path.join(
            os.path.dirname(__file__), "..", "..", "build", "lib",
            "libmultipole_cuda_runtime.so")
        try:
            rt = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            raise MultipoleError(f"cannot load the CUDA runtime {path}: {e}") from e
        rt.mpGetLastError.restype = ctypes.c_char_p
        rt.mpGraphCaptureBegin.restype = ctypes.c_void_p
        rt.mpGraphCaptureBegin.argtypes = [ctypes.c_void_p]
        rt.mpGraphCaptureEnd.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        rt.mpGraphLaunch.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        rt.mpGraphDestroy.argtypes = [ctypes.c_void_p]
        _RUNTIME = rt
    return _RUNTIME


_TORCH = {"bf16": "bfloat16", "f16": "float16", "f32": "float32", "i32": "int32",
          "i8": "int8", "i64": "int64", "f64": "float64"}


class Entry:
    def __init__(self, module: "Module", desc: dict):
        self.module = module
        self.name = desc["name"]
        self.symbol = desc["symbol"]
        self.kind = desc.get("kind", "function")
        self.step = desc.get("step")
        self.args = desc["args"]
        self.desc = desc
        self._mp_handle = None  # torch_ops.register (CUDA libraries)
        try:
            self._fn = getattr(module._lib, self.symbol)
        except AttributeError as e:
            raise MultipoleError(f"entry point {self.symbol} is missing from {module.path}") from e
        self._fn.restype = None

    def roles(self) -> List[str]:
        return [a["role"] for a in self.args]

    def _convert(self, a: dict, x) -> np.ndarray:
        dt = _NP[a["dtype"]]
        shape = tuple(a["shape"])
        if a["dtype"] == "bf16" and not (isinstance(x, np.ndarray) and x.dtype == np.uint16):
            x = to_bf16(x)
        elif a["dtype"] != "bf16" and isinstance(x, np.ndarray) and x.dtype == np.uint16:
            # bf16 bit patterns given for a float argument (a bf16 index to an f32-centroid
            # library): their values, not the integers.
            if a["dtype"] not in ("f32", "f64", "f16"):
                raise MultipoleError(f"{self.name}: '{a['role']}' is {a['dtype']}, got bf16 "
                                     "bit patterns (uint16)")
            x = from_bf16(x)
        arr = np.asarray(x)
        if arr.shape != shape:
            raise MultipoleError(f"{self.name}: '{a['role']}' must have shape {shape}, got {arr.shape}")
        if a["io"] == "inout":
            if arr.dtype != dt or not arr.flags.c_contiguous or not arr.flags.writeable:
                raise MultipoleError(f"{self.name}: '{a['role']}' is updated in place and must be a "
                                     f"writable C-contiguous {np.dtype(dt).name} array")
            return arr
        if arr.dtype.kind == "f" and np.dtype(dt).kind == "f" and not np.all(np.isfinite(arr)):
            raise MultipoleError(f"{self.name}: '{a['role']}' contains NaN or Inf")
        return np.ascontiguousarray(arr, dtype=dt)

    def _device_args(self, arrays):
        """CUDA libraries: torch CUDA tensors by role, checked against the manifest;
        outputs not given are allocated (on the current stream, as torch does)."""
        import torch
        unknown = set(arrays) - set(self.roles())
        if unknown:
            raise MultipoleError(f"{self.name}: unknown argument(s) {sorted(unknown)}; "
                                 f"expected roles {self.roles()}")
        device = None
        ptrs, keep, result = [], [], {}
        for a in self.args:
            role, shape = a["role"], tuple(a["shape"])
            dt = getattr(torch, _TORCH[a["dtype"]])
            if a["io"] == "out" and role not in arrays:
                t = torch.empty(shape, dtype=dt, device=device or "cuda")
                result[role] = t
            elif role in arrays:
                t = arrays[role]
                if not isinstance(t, torch.Tensor) or not t.is_cuda:
                    raise MultipoleError(f"{self.name}: this library runs on the GPU; pass "
                                         f"'{role}' as a torch CUDA tensor, got "
                                         f"{type(t).__name__}"
                                         + (f" on {t.device}" if isinstance(t, torch.Tensor) else ""))
                if tuple(t.shape) != shape or t.dtype != dt:
                    raise MultipoleError(f"{self.name}: '{role}' must be a {dt} tensor of "
                                         f"shape {list(shape)}, got {t.dtype} {list(t.shape)}")
                if not t.is_contiguous():
                    raise MultipoleError(f"{self.name}: '{role}' must be contiguous (strides "
                                         f"{t.stride()}); call .contiguous() first")
                if device is None:
                    device = t.device
                elif t.device != device:
                    raise MultipoleError(f"{self.name}: '{role}' is on {t.device}, the other "
                                         f"arguments on {device}")
                if a["io"] != "in":
                    result[role] = t
            else:
                raise MultipoleError(f"{self.name}: missing input '{role}'")
            r = len(shape)
            desc = (ctypes.c_int64 * (3 + 2 * r))()
            desc[0] = desc[1] = t.data_ptr()
            desc[2] = 0
            stride = 1
            for i in reversed(range(r)):
                desc[3 + i] = shape[i]
                desc[3 + r + i] = stride
                stride *= shape[i]
            keep += [t, desc]
            ptrs.append(ctypes.cast(desc, ctypes.c_void_p))
        if device is not None and device.index is not None and \
                device.index != torch.cuda.current_device():
            raise MultipoleError(f"{self.name}: the tensors are on {device}, the current "
                                 f"device is cuda:{torch.cuda.current_device()}; call it "
                                 f"under `with torch.cuda.device({device.index})`")
        return ptrs, keep, result

    def _stream_fn(self):
        fn = getattr(self, "_sfn", None)
        if fn is None:
            sym = self.desc.get("stream_symbol")
            if not sym:
                raise MultipoleError(f"{self.module.path} predates the caller's-stream ABI "
                                     f"(manifest version {self.module.manifest.get('version')}, "
                                     "no stream_symbol): recompile it with multipole-compile")
            try:
                fn = getattr(self.module._lib, sym)
            except AttributeError as e:
                raise MultipoleError(f"entry point {sym} is missing from "
                                     f"{self.module.path}") from e
            fn.restype = ctypes.c_int32
            self._sfn = fn
        return fn

    def _check_finite_cuda(self, arrays):
        """NaN/Inf in float inputs (opt-in: reading the answer waits for the GPU, so it
        is refused during graph capture)."""
        import torch
        if torch.cuda.is_current_stream_capturing():
            raise MultipoleError(f"{self.name}: check_finite=True cannot run while a CUDA "
                                 "graph is being captured (it synchronizes); load the "
                                 "library with check_finite=False for capture")
        for a in self.args:
            t = arrays.get(a["role"])
            if a["io"] == "in" and t is not None and t.is_floating_point() and \
                    not bool(torch.isfinite(t).all()):
                raise MultipoleError(f"{self.name}: '{a['role']}' contains NaN or Inf")

    def _call_cuda(self, arrays, stream=None):
        """Queues the entry point on `stream` (a torch.cuda.Stream; default: torch's
        current stream) and returns without waiting. Outputs and in/out tensors are
        returned by role."""
        import torch
        fn = self._stream_fn()
        ptrs, keep, result = self._device_args(arrays)
        if self.module.check_finite:
            self._check_finite_cuda(arrays)
        s = stream if stream is not None else torch.cuda.current_stream()
        rc = fn(ctypes.c_void_p(s.cuda_stream), *ptrs)
        if rc != 0:
            msg = cuda_runtime().mpGetLastError().decode()
            raise MultipoleError(f"{self.name} failed on the GPU (code {rc}): {msg}")
        del keep  # the descriptors are read during the call; tensors are the caller's
        return result

    def __call__(self, stream=None, **arrays) -> Dict[str, np.ndarray]:
        """Calls the entry point. Inputs and in/out arrays are given by role; outputs
        (and in/out arrays, updated in place) are returned by role. CUDA libraries
        take torch CUDA tensors, run on `stream` (default: torch's current stream)
        without synchronizing, and return torch tensors."""
        if self.module.target == "cuda":
            return self._call_cuda(arrays, stream)
        keep, ptrs, result = [], [], {}
        unknown = set(arrays) - set(self.roles())
        if unknown:
            raise MultipoleError(f"{self.name}: unknown argument(s) {sorted(unknown)}; "
                                 f"expected roles {self.roles()}")
        for a in self.args:
            role = a["role"]
            if a["io"] == "out":
                arr = np.empty(tuple(a["shape"]), dtype=_NP[a["dtype"]])
                result[role] = arr
            elif role in arrays:
                arr = self._convert(a, arrays[role])
                if a["io"] == "inout":
                    result[role] = arr
            else:
                raise MultipoleError(f"{self.name}: missing input '{role}'")
            r = arr.ndim
            desc = (ctypes.c_int64 * (3 + 2 * r))()
            p = arr.ctypes.data
            desc[0], desc[1], desc[2] = p, p, 0
            for i in range(r):
                desc[3 + i] = arr.shape[i]
                desc[3 + r + i] = arr.strides[i] // arr.itemsize
            keep += [arr, desc]
            ptrs.append(ctypes.cast(desc, ctypes.c_void_p))
        self._fn(*ptrs)
        return result


def _check_elf(path: str) -> None:
    """dlopen of a truncated library can die of SIGBUS: check that the ELF headers and
    every loadable segment lie inside the file before loading it."""
    import struct
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MultipoleError(f"cannot load {path}: {e}") from e
    def bad(why):
        raise MultipoleError(f"cannot load {path}: not a valid shared library ({why})")
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2:
        bad("no 64-bit ELF header")
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
    if phoff + phnum * phentsize > len(data) or shoff + shnum * shentsize > len(data):
        bad("headers outside the file: truncated?")
    for i in range(phnum):
        ptype, _, offset, _, _, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if ptype == 1 and offset + filesz > len(data):
            bad("a loadable segment lies outside the file: truncated?")


class Module:
    """A compiled multipole library."""

    def __init__(self, path: str, check_finite: bool = False):
        self.path = path
        # CUDA libraries: refuse NaN/Inf inputs before each call (synchronizes; CPU
        # libraries always check).
        self.check_finite = check_finite
        _check_elf(path)
        try:  # CUDA libraries need the runtime loaded first (harmless otherwise).
            cuda_runtime()
        except MultipoleError:
            pass
        try:  # a bare file name is a path here, not a name for dlopen to search
            self._lib = ctypes.CDLL(os.path.abspath(path), mode=ctypes.RTLD_LOCAL)
        except OSError as e:
            raise MultipoleError(f"cannot load {path}: {e}") from e
        try:
            raw = ctypes.string_at(ctypes.addressof(
                ctypes.c_char.in_dll(self._lib, "__multipole_manifest")))
        except ValueError as e:
            raise MultipoleError(f"{path} has no __multipole_manifest: not made by "
                                 "multipole-compile") from e
        try:
            self.manifest = json.loads(raw.decode())
        except (ValueError, UnicodeDecodeError) as e:
            raise MultipoleError(f"corrupt manifest in {path}: {e}") from e
        self.target = self.manifest.get("target", "cpu")
        self.entries = {e["name"]: Entry(self, e) for e in self.manifest["entries"]}
        if self.target == "cuda":
            rt = cuda_runtime()
            if not rt.mpCudaAvailable():
                raise MultipoleError(f"{path} runs on CUDA GPUs, and none is usable here: "
                                     f"{rt.mpGetLastError().decode()}")
            try:
                from . import torch_ops
            except ImportError as e:
                raise MultipoleError(f"{path} is a CUDA library; calling it needs torch "
                                     f"with CUDA: {e}") from e
            for e in self.entries.values():
                torch_ops.register(e)

    @property
    def model(self) -> Optional[dict]:
        """The model a library was compiled for (``multipole-compile --model``): heads,
        head_dim, dtype, layers, batch, cache length, KV layout (docs/ABI.md); None for a
        library compiled from IR."""
        return self.manifest.get("model")

    def step_for_batch(self, batch: int) -> str:
        """The step entry point that serves `batch` sequences in a library compiled
        with ``--model``: the smallest compiled batch bucket >= `batch` (docs/ABI.md).
        The caller's tensors have that many rows; rows past `batch` get length 0."""
        model = self.model
        if not model or "bucket_steps" not in model:
            raise MultipoleError(f"{self.path} was not compiled with --model: it has no "
                                 f"batch buckets")
        fits = sorted(int(b) for b in model["bucket_steps"] if int(b) >= batch)
        if batch < 1 or not fits:
            raise MultipoleError(f"batch {batch} is outside the library's 1..{model['max_batch']}")
        return model["bucket_steps"][str(fits[0])]

    def __getitem__(self, name) -> Entry:
        if name not in self.entries:
            raise MultipoleError(f"no entry point '{name}' in {self.path}; it has "
                                 f"{sorted(self.entries)}")
        return self.entries[name]

    def step_entry(self, name: Optional[str] = None) -> Entry:
        """The decode step `name`, or the library's only one: an entry of kind "step"
        (multipole) or, in a dense library (--dense), the function taking q, k, v."""
        if name:
            return self[name]
        steps = [e for e in self.entries.values() if e.kind == "step"]
        if not steps:
            steps = [e for e in self.entries.values()
                     if {"q", "k", "v", "out"} <= set(e.roles())]
        if len(steps) != 1:
            raise MultipoleError(f"{self.path}: expected one decode step, found {len(steps)}"
                                 f" ({sorted(e.name for e in steps)}); name one")
        return steps[0]

    def entry(self, kind: str, step: Optional[str] = None) -> Entry:
        """The entry point of `kind` ("step", "build" or "update") that belongs to the
        decode step `step` (default: the library's only step)."""
        st = self.step_entry(step)
        if kind == "step":
            return st
        for e in self.entries.values():
            if e.kind == kind and e.step == st.name:
                return e
        raise MultipoleError(f"{self.path}: no {kind} entry point for {st.name} (a dense "
                             "library, compiled with --dense, has only the step)")

    # -- index helpers: the index is a list of per-level dicts (as in reference.py) --
    @staticmethod
    def _flatten(index) -> Dict[str, np.ndarray]:
        return {f"L{l}.{k}": lvl[k] for l, lvl in enumerate(index) for k in INDEX_KEYS}

    @staticmethod
    def _nest(flat) -> List[Dict[str, np.ndarray]]:
        levels = sorted({int(r[1:].split(".")[0]) for r in flat if r.startswith("L")})
        return [{k: flat[f"L{l}.{k}"] for k in INDEX_KEYS} for l in levels]

    def _lens(self, lens, like=None):
        if self.target == "cuda":
            import torch
            if isinstance(lens, torch.Tensor):
                return lens
            dev = like.device if isinstance(like, torch.Tensor) else "cuda"
            return torch.as_tensor(np.asarray(lens, np.int32), device=dev)
        return np.asarray(lens, np.int32)

    def random_inputs(self, seed: int = 0, lens=None, kind: str = "clustered",
                      step: Optional[str] = None):
        """q, k, v, lens of the step's shapes (reference.make_inputs data): numpy arrays
        for a CPU library, torch CUDA tensors for a CUDA library. `lens` defaults to the
        cache size minus 256 tokens (room for two updates). k and v are in the
        library's layout (the manifest's `layout`: [B, Hkv, N, D], or [B, N, Hkv, D]
        for "BNHD", the same data transposed)."""
        from . import reference
        e = self.step_entry(step)
        sh = {a["role"]: (tuple(a["shape"]), a["dtype"]) for a in e.args}
        bnhd = next(a for a in e.args if a["role"] == "k").get("layout") == "BNHD"
        (B, Hq, D), dt = sh["q"]
        if bnhd:
            (_, N, H, _), _ = sh["k"]
        else:
            (_, H, N, _), _ = sh["k"]
        q, k, v = reference.make_inputs(B, Hq, H, N, D, kind=kind, seed=seed)
        if bnhd:
            k, v = (np.ascontiguousarray(x.transpose(0, 2, 1, 3)) for x in (k, v))
        n = np.full(B, max(1, N - 256) if lens is None else lens, dtype=np.int32)
        if self.target != "cuda":
            return q, k, v, n
        import torch
        tdt = getattr(torch, _TORCH[dt])
        to = lambda x: torch.from_numpy(np.ascontiguousarray(x, np.float32)).to("cuda", tdt)
        return to(q), to(k), to(v), torch.from_numpy(n).cuda()

    def build(self, k, v, lens, step: Optional[str] = None, stream=None):
        """Builds the cluster index from a prefilled cache; returns a list of level
        dicts. CUDA libraries: torch tensors, queued on `stream` (default: torch's
        current stream; see multipole.torch_ops)."""
        e = self.entry("build", step)
        if self.target == "cuda":
            from . import torch_ops
            return self._nest(torch_ops.build(e, k, v, self._lens(lens, k), stream))
        return self._nest(e(k=k, v=v, lens=self._lens(lens)))

    def update(self, k, v, lens, index, step: Optional[str] = None, stream=None):
        """Folds new tokens (up to `lens`) into `index`, in place; returns `index`."""
        e = self.entry("update", step)
        if self.target == "cuda":
            from . import torch_ops
            torch_ops.update(e, k, v, self._lens(lens, k), self._flatten(index), stream)
            return index
        e(k=k, v=v, lens=self._lens(lens), **self._flatten(index))
        return index

    def step(self, q, k, v, lens, index=None, step: Optional[str] = None, stream=None):
        """One decode step; returns the attention output: a torch tensor of the
        library's dtype (CUDA), float32 numpy (CPU). `index` is None for a dense
        library (--dense)."""
        e = self.step_entry(step)
        flat = self._flatten(index or [])
        if self.target == "cuda":
            from . import torch_ops
            return torch_ops.step(e, q, k, v, self._lens(lens, q), flat, stream)
        out = e(q=q, k=k, v=v, lens=self._lens(lens), **flat)["out"]
        return from_bf16(out) if out.dtype == np.uint16 else out.astype(np.float32)


def load(path: str, check_finite: bool = False) -> Module:
    """Loads a library made by multipole-compile. `check_finite` (CUDA libraries):
    refuse NaN/Inf in float inputs before each call, at the cost of a synchronization
    per call (CPU libraries always check)."""
    return Module(path, check_finite=check_finite)
