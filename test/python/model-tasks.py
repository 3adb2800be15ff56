# The training and evaluation data of the trained model (models/tasks.py): seeded draws
# are reproducible, prompts have the lengths the accuracy harness asks for, the answer
# positions' targets are the planted information, and the text is the lexicon's.
# REQUIRES: numpy
# RUN: %python %s %src/models | FileCheck %s
# CHECK: mqar: OK
# CHECK: passkey: OK
# CHECK: chain: OK
# CHECK: determinism: OK
# CHECK: mqar pairs: OK
import sys

import numpy as np

sys.path.insert(0, sys.argv[1])
import tasks as T  # noqa: E402

for task in T.TASKS:
    for L in (2048, 8192):
        ex = T.eval_examples(task, L, 3, seed=5)
        for e in ex:
            assert len(e.prompt) == L, (task, len(e.prompt), L)
            assert e.prompt[0] == T.BOS
            assert len(e.weights) == len(e.tokens) - 1
            ans = np.nonzero(e.weights == T.W_ANSWER)[0]
            tgt = e.tokens[ans + 1]
            if task == "mqar":
                # each answer follows its query key, and that key's pair in the context has it
                assert len(ans) == T.QUERIES and list(tgt) == e.answers
                ctx = e.prompt
                for k, v in zip(e.tokens[ans], tgt):
                    at = np.nonzero(ctx[:-1] == k)[0]
                    assert len(at) >= 1 and ctx[at[0] + 1] == v
            else:
                # passkey / chain: the answer is the key planted after PASS
                assert list(tgt) == e.answers and len(set(e.answers)) == T.PASSLEN
                at = np.nonzero(e.tokens == T.PASS)[0]
                assert len(at) == 1 and list(e.tokens[at[0] + 1:at[0] + 1 + T.PASSLEN]) == e.answers
                if task == "chain":
                    # the key is generated after the prompt, more than 1K tokens before the question
                    assert at[0] >= len(e.prompt) and ans[0] - at[0] > 1000
            text = e.tokens[1:][e.weights == T.W_TEXT]     # the targets of text positions
            assert np.all((text >= T.TEXT0) & (text < T.TEXT0 + T.NTEXT))
    print(f"{task}: OK")
a = [e.tokens for e in T.eval_examples("mqar", 4096, 2, seed=1)]
b = [e.tokens for e in T.eval_examples("mqar", 4096, 2, seed=1)]
c = [e.tokens for e in T.eval_examples("mqar", 4096, 2, seed=2)]
assert all(np.array_equal(x, y) for x, y in zip(a, b))
assert not np.array_equal(a[0], c[0])
print("determinism: OK")

# Evaluation-only MQAR with more pairs (bench/accuracy.py's mqar<N>): every pair planted in
# the prompt with distinct keys of the first MQAR_KEYS, QUERIES of them asked; its own draws.
for pairs in (64, T.MQAR_KEYS):
    for e in T.eval_examples("mqar", 2048, 2, seed=5, pairs=pairs):
        assert len(e.prompt) == 2048 and len(e.answers) == T.QUERIES == len(set(e.queries))
        ctx = e.prompt[:-1]
        planted = ctx[(ctx >= T.KEY0) & (ctx < T.KEY0 + T.NKEY)]
        assert len(planted) == pairs == len(set(planted)) and planted.max() < T.KEY0 + T.MQAR_KEYS
        ans = np.nonzero(e.weights == T.W_ANSWER)[0]
        assert list(e.tokens[ans + 1]) == e.answers
        for k, v in zip(e.queries, e.answers):
            at = np.nonzero(ctx == k)[0]
            assert len(at) == 1 and ctx[at[0] + 1] == v
d = T.eval_examples("mqar", 4096, 1, seed=1, pairs=64)[0].tokens
assert not np.array_equal(d, a[0])
assert np.array_equal(T.eval_examples("mqar", 4096, 2, seed=1, pairs=T.PAIRS)[0].tokens, a[0])
for bad in (T.QUERIES - 1, T.MQAR_KEYS + 1):
    try:
        T.eval_examples("mqar", 2048, 1, seed=0, pairs=bad)
        raise SystemExit(f"pairs={bad} accepted")
    except (AssertionError, ValueError):
        pass
print("mqar pairs: OK")
