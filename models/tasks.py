"""Synthetic long-context tasks for the small retrieval LM (models/train.py).

Everything is drawn from numpy Generators seeded by the caller, so a seed gives the same
tokens on any machine. Three tasks, each a stretch of "text" (words of a fixed random
lexicon) with the information planted in it:

- ``mqar`` (multi-query associative recall): ``PAIRS`` key-value pairs ``k v`` scattered
  through the text; then ``QUERY`` and, for ``QUERIES`` of the keys in random order,
  ``k v`` again: the model must say the value that followed the key in the context.
  Evaluation can plant more pairs than training did (``pairs``, up to ``MQAR_KEYS``: more
  planted keys for the queried one to be told apart from), still asking ``QUERIES``.
- ``passkey``: ``PASS p1..p5`` planted at a random depth; the prompt ends with ``ASKPASS``
  and the model must repeat ``p1..p5``.
- ``chain`` (answers in the model's own output): the prompt is text then ``GEN``; the model
  then *samples* ``PASS p1..p5`` and ``CHAIN_TEXT`` tokens of text itself (the key exists
  only in what it generated), the caller appends ``END ASKPASS``, and the model must
  repeat the key it generated more than 1K tokens earlier. In training the key and the
  text are random draws.

Training sequences come with a per-position loss weight class (see ``W_*``): answers count
fully, text and the chain's keys and values are weighted lower, and the random planted
tokens (unpredictable) are not trained on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

import numpy as np

VOCAB = 1024
PAD, BOS, QUERY, PASS, ASKPASS, GEN, END = 0, 1, 2, 3, 4, 5, 6
TEXT0, NTEXT = 16, 256          # distractor text tokens 16..271
KEY0, NKEY = 272, 640           # keys 272..911
VAL0, NVAL = 912, 112           # values 912..1023

PAIRS, QUERIES, MQAR_KEYS = 16, 16, 128   # mqar: pairs, queries, keys drawn from the first 128
PASSLEN = 5                     # passkey
CHAIN_TEXT = 1200               # chain: generated text between the generated key and the question

# Loss classes of the positions of a training sequence (the class of the *target* token).
W_NONE, W_TEXT, W_ANSWER, W_CHAIN_KEY, W_CHAIN_VAL = 0, 1, 2, 3, 4
TASKS = ("mqar", "passkey", "chain")


def text_lexicon(seed: int = 1234):
    """The distractor text's lexicon: 512 "words" of 2 to 5 text tokens each (fixed for
    the model: seed 1234). Text is a sequence of words drawn uniformly, so its tokens are
    predictable inside a word from the tokens before them, as in a language."""
    g = np.random.default_rng(seed)
    lens = g.integers(2, 6, size=512)
    flat = TEXT0 + g.integers(NTEXT, size=int(lens.sum()))
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    return flat, starts, lens


_LEX, _LEX_START, _LEX_LEN = text_lexicon()


def text(g: np.random.Generator, n: int) -> np.ndarray:
    """n tokens of distractor text (words of the lexicon; the last one may be cut)."""
    if n <= 0:
        return np.empty(0, np.int64)
    words = g.integers(len(_LEX_LEN), size=n // 2 + 8)
    lens = _LEX_LEN[words]
    while lens.sum() < n:                     # (never taken: words have >= 2 tokens)
        words = np.concatenate([words, words]); lens = _LEX_LEN[words]
    ends = np.cumsum(lens)
    pos = np.arange(n)
    w = np.searchsorted(ends, pos, side="right")
    off = pos - (ends[w] - lens[w])
    return _LEX[_LEX_START[words[w]] + off].astype(np.int64)


@dataclass
class Example:
    """One task instance. ``prompt`` is what the model is given; ``answers`` lists, in
    order, the tokens the model must produce (for ``chain`` the training draw; in
    evaluation the answer is what the model generated)."""
    task: str
    prompt: np.ndarray
    tokens: np.ndarray                      # full training sequence (prompt + answers)
    weights: np.ndarray                     # loss class of each target position (len-1)
    queries: List[int] = field(default_factory=list)   # mqar / chain: query key tokens
    answers: List[int] = field(default_factory=list)   # mqar: values; passkey, chain: p1..p5


def _scatter(g, filler: np.ndarray, items: List[np.ndarray]) -> (np.ndarray, List[int]):
    """Inserts the items (token arrays) into the filler at random, non-overlapping
    places, in the given order; returns the sequence and each item's start."""
    cuts = np.sort(g.choice(len(filler) + 1, size=len(items), replace=True))
    out, starts, prev = [], [], 0
    pos = 0
    for c, it in zip(cuts, items):
        out.append(filler[prev:c]); pos += c - prev
        starts.append(pos)
        out.append(it); pos += len(it)
        prev = c
    out.append(filler[prev:])
    return np.concatenate(out), starts


def mqar(g, length: int, queries: int = QUERIES, pairs: int = PAIRS) -> Example:
    """MQAR of total length ``length`` (prompt + answers) with ``pairs`` key-value pairs
    (distinct keys of the first ``MQAR_KEYS``, values may repeat); training asks every pair
    of ``PAIRS`` (``queries=PAIRS``), evaluation ``QUERIES`` of them. The draws are the
    same for the default ``pairs`` as before the argument existed."""
    assert queries <= pairs <= MQAR_KEYS, f"mqar: need queries <= pairs <= {MQAR_KEYS}"
    keys = KEY0 + g.choice(MQAR_KEYS, pairs, replace=False)
    vals = VAL0 + g.integers(NVAL, size=pairs)
    qi = g.choice(pairs, queries, replace=False)
    tail = 1 + 2 * queries
    ntext = length - 1 - 2 * pairs - tail
    assert ntext > 0, "mqar: length too short"
    body, _ = _scatter(g, text(g, ntext), [np.array([k, v]) for k, v in zip(keys, vals)])
    q = np.stack([keys[qi], vals[qi]], 1).reshape(-1)
    tokens = np.concatenate([[BOS], body, [QUERY], q])
    w = np.full(len(tokens) - 1, W_NONE, np.int8)
    tgt = tokens[1:]
    prev = tokens[:-1]
    w[(tgt >= TEXT0) & (tgt < TEXT0 + NTEXT) & (prev >= TEXT0) & (prev < TEXT0 + NTEXT)] = W_TEXT
    qstart = 1 + len(body) + 1              # first query key position
    w[qstart + 2 * np.arange(queries)] = W_ANSWER   # target = the value after each query key
    prompt = tokens[:qstart + 1]            # up to and including the first query key
    return Example("mqar", prompt, tokens, w, list(keys[qi]), list(vals[qi]))


def passkey(g, length: int) -> Example:
    key = VAL0 + g.choice(NVAL, PASSLEN, replace=False)
    ntext = length - 1 - (1 + PASSLEN) - (1 + PASSLEN)
    assert ntext > 0, "passkey: length too short"
    body, _ = _scatter(g, text(g, ntext), [np.concatenate([[PASS], key])])
    tokens = np.concatenate([[BOS], body, [ASKPASS], key])
    w = np.full(len(tokens) - 1, W_NONE, np.int8)
    tgt, prev = tokens[1:], tokens[:-1]
    w[(tgt >= TEXT0) & (tgt < TEXT0 + NTEXT) & (prev >= TEXT0) & (prev < TEXT0 + NTEXT)] = W_TEXT
    a = 1 + len(body)                       # ASKPASS position
    w[a + np.arange(PASSLEN)] = W_ANSWER
    return Example("passkey", tokens[:a + 1], tokens, w, [], list(key))


def chain_tail_len() -> int:
    """Tokens after the prompt of a chain example: PASS, key, text, END, ASKPASS, key."""
    return 1 + PASSLEN + CHAIN_TEXT + 2 + PASSLEN


def chain(g, length: int) -> Example:
    """Chain example of total length ``length``; the prompt is BOS, text, GEN."""
    ntext = length - 2 - chain_tail_len()
    assert ntext > 0, "chain: length too short"
    key = VAL0 + g.choice(NVAL, PASSLEN, replace=False)
    tokens = np.concatenate([[BOS], text(g, ntext), [GEN, PASS], key, text(g, CHAIN_TEXT),
                             [END, ASKPASS], key])
    w = np.full(len(tokens) - 1, W_NONE, np.int8)
    tgt, prev = tokens[1:], tokens[:-1]
    w[(tgt >= TEXT0) & (tgt < TEXT0 + NTEXT) & (prev >= TEXT0) & (prev < TEXT0 + NTEXT)] = W_TEXT
    gen = 1 + ntext                         # GEN position
    w[gen] = W_CHAIN_KEY                    # PASS after GEN
    w[gen + 1 + np.arange(PASSLEN)] = W_CHAIN_VAL       # the sampled key
    a = len(tokens) - 1 - PASSLEN           # ASKPASS position
    w[a + np.arange(PASSLEN)] = W_ANSWER
    return Example("chain", tokens[:gen + 1], tokens, w, [], list(key))


MAKERS = {"mqar": mqar, "passkey": passkey, "chain": chain}


def make(task: str, g, length: int, train: bool = False) -> Example:
    if task == "mqar" and train:
        return mqar(g, length, queries=PAIRS)
    return MAKERS[task](g, length)


def eval_examples(task: str, length: int, count: int, seed: int,
                  pairs: int = PAIRS) -> List[Example]:
    """Evaluation instances: prompt lengths ``length`` for mqar and passkey (the answers
    follow), and a text prompt of ``length`` tokens for chain (the chain, the queries and
    the answers follow it). Seeds are disjoint from training's (training uses seed < 2**31).
    ``pairs``: mqar's number of pairs (its own draws when not ``PAIRS``; queries stay
    ``QUERIES``)."""
    key = [seed, 2**31 + TASKS.index(task), length]
    if pairs != PAIRS:
        assert task == "mqar", "eval_examples: pairs is mqar's"
        key.append(pairs)
    g = np.random.default_rng(key)
    if task == "chain":
        return [chain(g, length + chain_tail_len()) for _ in range(count)]
    if task == "mqar":
        return [mqar(g, length + 2 * QUERIES - 1, pairs=pairs) for _ in range(count)]
    return [passkey(g, length + PASSLEN) for _ in range(count)]
