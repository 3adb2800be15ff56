"""Helpers of the model-library scripts (bench/bench_model.py, bench/model_check.py).

A library compiled by ``multipole-compile --model`` serves every layer of a model: one
step, build and update per batch bucket, the index owned by the caller, one per layer.
``ModelLib`` wraps one: its shapes from the manifest, the reference config from the
manifest's ``#multipole.config``, and build / update / step on torch tensors. A CUDA
library takes them as they are (torch's current stream); a CPU library gets numpy copies,
so that both scripts can be dry-run here on a CPU library of the same model
(``TARGET=cpu bench/model_libs.sh DIR``).
"""
import math
import re
import time

import numpy as np
import torch

import multipole as mp
from multipole import reference as ref

KEYS = mp.runtime.INDEX_KEYS


class Checks:
    """Labelled checks: one "ok" / "FAIL" line each (through `say`), the failures kept."""

    def __init__(self, say=None):
        self.failures = []
        self.say = say or (lambda line: print(line, flush=True))

    def __call__(self, label, ok, detail=""):
        self.say(f"  {'ok  ' if ok else 'FAIL'} {label}{': ' + detail if detail else ''}")
        if not ok:
            self.failures.append(label)
        return ok


def ref_config(text):
    """The reference's Config of a manifest's ``#multipole.config<...>``."""
    def num(key, default, cast=float):
        m = re.search(rf"\b{key} = ([-+0-9.e]+)", text)
        return cast(float(m.group(1))) if m else default
    levels = []
    for lv in re.findall(r"#multipole\.level<([^>]*)>", text):
        f = float(re.search(r"fraction = ([-+0-9.e]+)", lv).group(1))
        bt = re.search(r"budget_tokens = (\d+)", lv)
        bf = re.search(r"budget_fraction = ([-+0-9.e]+)", lv)
        levels.append(ref.Level(f, budget_tokens=int(bt.group(1))) if bt else
                      ref.Level(f, budget_fraction=float(bf.group(1))))
    return ref.Config(levels=levels or [ref.Level(0.0625, budget_fraction=0.1)],
                      sink=num("sink", 16, int), interval=num("interval", 128, int),
                      block_size=num("block_size", 8192, int),
                      build_iters=num("build_iters", 10, int),
                      update_iters=num("update_iters", 3, int),
                      score_position=num("score_position", 2048, int),
                      rope_theta=num("rope_theta", 0.0),
                      replacement="replacement = false" not in text)


class ModelLib:
    """A model library and the calls of one batch size on it."""

    def __init__(self, path):
        self.path = path
        self.lib = mp.load(path)
        m = self.lib.model
        if not m:
            raise mp.MultipoleError(f"{path} was not compiled with --model")
        self.model = m
        self.layers = m["layers"]
        self.heads, self.kv_heads, self.head_dim = (m["num_attention_heads"],
                                                    m["num_key_value_heads"], m["head_dim"])
        self.max_len, self.max_batch = m["max_len"], m["max_batch"]
        self.cuda = self.lib.target == "cuda"
        self.device = "cuda" if self.cuda else "cpu"
        self.cfg = ref_config(self.lib.manifest.get("config", ""))

    def rows(self, batch):
        """The rows of the bucket that serves `batch` sequences."""
        step = self.lib.step_entry(self.lib.step_for_batch(batch))
        return next(a["shape"][0] for a in step.args if a["role"] == "q")

    def lens(self, batch, lengths):
        """The bucket's lengths: `lengths` of the `batch` sequences, 0 past them."""
        n = list(lengths) + [0] * (self.rows(batch) - len(lengths))
        return torch.tensor(n, dtype=torch.int32, device=self.device)

    def _in(self, t):
        return t if self.cuda else t.float().numpy() if t.is_floating_point() else t.numpy()

    def build(self, batch, k, v, lens):
        idx = self.lib.build(self._in(k), self._in(v), self._in(lens),
                             step=self.lib.step_for_batch(batch))
        return idx

    def update(self, batch, k, v, lens, index):
        self.lib.update(self._in(k), self._in(v), self._in(lens), index,
                        step=self.lib.step_for_batch(batch))

    def step(self, batch, q, k, v, lens, index):
        out = self.lib.step(self._in(q), self._in(k), self._in(v), self._in(lens), index,
                            step=self.lib.step_for_batch(batch))
        return out if self.cuda else torch.from_numpy(out)

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()


def index_np(index, rows=None):
    """An index (torch or numpy levels) as numpy levels, the first `rows` rows."""
    out = []
    for lvl in index:
        d = {}
        for k in KEYS:
            a = lvl[k]
            a = mp.to_numpy(a)   # bf16 centroids as uint16 bit patterns
            d[k] = a[:rows] if rows is not None else a
        out.append(d)
    return out


def np_f32(t, rows=None):
    """A torch tensor's values as float32 numpy (bf16 values are exact in float32)."""
    t = t[:rows] if rows is not None else t
    return t.float().cpu().numpy()


def rel_err_rows(x, r, rows):
    """Relative (Frobenius) error of the first `rows` rows of x against r (float64)."""
    x = x[:rows].double().to(r.device)
    r = r[:rows].double()
    return (torch.linalg.vector_norm(x - r) / torch.linalg.vector_norm(r)).item()


def clustered_len(n, cfg):
    """The clustered length of a build of n tokens (docs/Algorithm.md)."""
    I, S = cfg.interval, cfg.sink
    return max(0, (n - S - I) // I) * I


def timed_ms(fn, cuda):
    """fn() once, timed: CUDA events on torch's current stream (a CUDA library) or the
    wall clock (CPU)."""
    if cuda:
        s = torch.cuda.current_stream()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(s)
        r = fn()
        b.record(s)
        b.synchronize()
        return r, a.elapsed_time(b)
    t0 = time.perf_counter()
    r = fn()
    return r, 1e3 * (time.perf_counter() - t0)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else math.nan


def interleaved_ms(fns, reps, cuda, warmup=2):
    """Medians of the times of each of `fns`, run in turn (A, B, A, B, ...) so that clock
    and thermal drift fall on all of them alike."""
    for _ in range(warmup):
        for f in fns:
            f()
    ts = [[] for _ in fns]
    for _ in range(reps):
        for i, f in enumerate(fns):
            ts[i].append(timed_ms(f, cuda)[1])
    return [median(t) for t in ts]
