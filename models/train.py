#!/usr/bin/env python3
"""Trains the small retrieval LM (models/model.py, the Qwen3 architecture) on the tasks of
models/tasks.py, on one GPU, in a fixed number of steps (about 7 minutes on an H200).

    python3 models/train.py --out models/qwen3-retrieval [--steps 4000] [--seed 0]

Deterministic inputs: step s draws its batch from numpy's Generator seeded by
(seed, s), and the initialisation from torch's seed; the GPU's reductions (attention
backward) may still round differently between runs. Each step's sequence length and
token count follow a fixed schedule (``STAGES``): 256-512-token sequences first (the
retrieval circuit forms there), then 1K-4K, then lengths up to 34816 (the longest
evaluated context, 32K, plus the chain and its queries). ``--time-limit`` stops early (and
says so) rather than run past the lease; the weights are saved at the end and every
``--save-every`` steps. After training it reports teacher-forced answer accuracy on fresh
evaluation examples at 8K, 16K and 32K (bench/accuracy.py measures generation).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tasks as T  # noqa: E402
from model import Config, Model, save  # noqa: E402

# Three stages (steps, lengths, tokens per step). Retrieval needs an induction circuit
# (a previous-token head feeding a content-matching head); it forms quickly only where
# answers are dense: 256-512-token sequences with every pair queried (a first run
# that started at 1K tokens and 16 answers per sequence never formed it in 4000 steps:
# bench/results/2026-12-01-h200-train-run1.log). Then the lengths grow to 34816.
STAGES = (((256, 512), None, 32768), ((1024, 2048, 4096), None, 65536),
          ((2048, 4096, 8192, 16384, 34816), (0.10, 0.15, 0.25, 0.25, 0.25), 131072))
LOSS_W = {T.W_TEXT: 0.2, T.W_ANSWER: 1.0, T.W_CHAIN_KEY: 0.5, T.W_CHAIN_VAL: 0.1}


def batch_for(step: int, args):
    g = np.random.default_rng([args.seed, step])
    stage = 0 if step < args.stage_steps[0] else 1 if step < sum(args.stage_steps) else 2
    lengths, p, tokens = STAGES[stage]
    L = int(g.choice(lengths, p=p))
    n = max(1, tokens // L)
    toks = np.empty((n, L), np.int64)
    w = np.empty((n, L - 1), np.int8)
    kinds = []
    for i in range(n):
        task = T.TASKS[g.integers(3)]
        if task == "chain" and L < 2048:   # the chain needs 1234 tokens
            task = T.TASKS[g.integers(2)]
        e = T.make(task, g, L, train=True)
        toks[i], w[i] = e.tokens, e.weights
        kinds.append(T.TASKS.index(task))
    return L, toks, w, np.array(kinds)


def losses(logits, toks, w):
    """Per loss class: mean cross entropy and argmax accuracy over its positions."""
    lg = logits[:, :-1].float()
    tgt = toks[:, 1:]
    ce = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), reduction="none").view_as(tgt)
    hit = (lg.argmax(-1) == tgt)
    out = {}
    for cls in LOSS_W:
        m = (w == cls)
        cnt = m.sum()
        out[cls] = ((ce * m).sum() / cnt.clamp(min=1), (hit & m).sum(), cnt)
    return out


def teacher_forced_eval(model, device, lengths=(8192, 16384, 32768), count=8, seed=7):
    """Answer accuracy (argmax at every answer position, the prompt and earlier answers
    given) on evaluation examples, per task and length."""
    res = {}
    model.eval()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
        for task in T.TASKS:
            for L in lengths:
                ex = T.eval_examples(task, L, count, seed)
                toks = torch.tensor(np.stack([e.tokens for e in ex]), device=device)
                w = torch.tensor(np.stack([e.weights for e in ex]), device=device)
                hits = tot = 0
                for i in range(0, len(ex), 2):
                    lg = model(toks[i:i + 2])
                    m = w[i:i + 2] == T.W_ANSWER
                    hits += ((lg[:, :-1].argmax(-1) == toks[i:i + 2, 1:]) & m).sum().item()
                    tot += m.sum().item()
                res[f"{task}@{L}"] = hits / max(tot, 1)
    model.train()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="directory for config.json and model.safetensors")
    ap.add_argument("--steps", type=int, default=4000, help="optimizer steps (default 4000)")
    ap.add_argument("--stage-steps", type=lambda x: tuple(int(v) for v in x.split(",")), default=(1200, 800),
                    help="steps of the 256-512 and of the 1K-4K stages before the long one (default 1200,800)")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 2e-3)")
    ap.add_argument("--seed", type=int, default=0, help="seed of data and initialisation (default 0)")
    ap.add_argument("--time-limit", type=float, default=420, help="stop after this many seconds of training (default 420)")
    ap.add_argument("--save-every", type=int, default=1000, help="save the weights every N steps (default 1000)")
    ap.add_argument("--log-every", type=int, default=100, help="print progress every N steps (default 100)")
    ap.add_argument("--eval-count", type=int, default=8, help="examples per task and length in the final check (0 = skip)")
    ap.add_argument("--eval-lengths", default="8192,16384,32768", help="lengths of the final check")
    ap.add_argument("--tiny", action="store_true", help="a 2-layer, 64-wide model (smoke tests of this script)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    dev = args.device
    cfg = Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, head_dim=32) if args.tiny else Config()
    model = Model(cfg).to(dev)
    nparam = sum(p.numel() for p in model.parameters())
    print(f"model: {nparam/1e6:.2f}M parameters, {json.dumps(cfg.__dict__)}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01,
                            **({"fused": True} if dev == "cuda" else {}))
    warm = 100

    def lr_at(s):
        if s < warm:
            return args.lr * (s + 1) / warm
        t = (s - warm) / max(1, args.steps - warm)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    t0 = time.time()
    acc = {}
    step = 0
    for step in range(args.steps):
        L, toks, w, kinds = batch_for(step, args)
        toks = torch.from_numpy(toks).to(dev, non_blocking=True)
        w = torch.from_numpy(w).to(dev, non_blocking=True)
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step)
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            logits = model(toks)
        parts = losses(logits, toks, w)
        loss = sum(LOSS_W[c] * parts[c][0] for c in LOSS_W)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        for c in LOSS_W:
            a = acc.setdefault(c, [0, 0])
            a[0] += parts[c][1]
            a[1] += parts[c][2]
        if (step + 1) % args.log_every == 0 or step == 0:
            el = time.time() - t0
            rep = " ".join(f"{n}={float(acc[c][0]) / max(1, float(acc[c][1])):.3f}"
                           for c, n in ((T.W_ANSWER, "answer"), (T.W_TEXT, "text"),
                                        (T.W_CHAIN_KEY, "chainkey")))
            print(f"step {step + 1}/{args.steps} L={L} loss={loss.item():.4f} acc {rep} "
                  f"lr={lr_at(step):.2e} {el:.0f}s", flush=True)
            acc = {}
        if (step + 1) % args.save_every == 0:
            save(model, args.out)
        if time.time() - t0 > args.time_limit:
            print(f"time limit {args.time_limit}s reached after {step + 1} steps: stopping early",
                  flush=True)
            break
    print(f"trained {step + 1} steps in {time.time() - t0:.0f}s", flush=True)
    save(model, args.out)
    if args.eval_count:
        lengths = tuple(int(x) for x in args.eval_lengths.split(","))
        res = teacher_forced_eval(model, dev, lengths, args.eval_count)
        for k, v in res.items():
            print(f"teacher-forced accuracy {k}: {v:.3f}", flush=True)
        json.dump({"steps": step + 1, "seconds": time.time() - t0, "teacher_forced": res},
                  open(os.path.join(args.out, "train_report.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
