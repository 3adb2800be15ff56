"""The torch API of a CUDA library: bad tensors are refused with a MultipoleError before
anything is queued; an explicit stream= runs there. Usage: torch_api_errors.py LIB.so"""
import sys

import torch

import multipole as mp

lib = mp.load(sys.argv[1])
q, k, v, lens = lib.random_inputs(seed=1)
index = lib.build(k, v, lens)
ref = lib.step(q, k, v, lens, index)
torch.cuda.synchronize()


def expect(label, fn):
    try:
        fn()
        print(f"{label}: NOT REFUSED")
    except mp.MultipoleError as e:
        print(f"{label}: {e}")


expect("cpu tensor", lambda: lib.step(q.cpu(), k, v, lens, index))
expect("dtype", lambda: lib.step(q.float(), k, v, lens, index))
expect("shape", lambda: lib.step(q[:, :1], k, v, lens, index))
expect("strided", lambda: lib.step(q, k.transpose(2, 3).contiguous().transpose(2, 3), v,
                                   lens, index))
expect("index", lambda: lib.step(q, k, v, lens, index + index))
expect("lens dtype", lambda: lib.step(q, k, v, lens.long(), index))
checked = mp.load(sys.argv[1], check_finite=True)
bad = k.clone()
bad[0, 0, 5, 3] = float("nan")
expect("nan", lambda: checked.step(q, bad, v, lens, index))
# An explicit stream: the call is queued there, the result is the same.
s = torch.cuda.Stream()
s.wait_stream(torch.cuda.current_stream())
out = lib.step(q, k, v, lens, index, stream=s)
s.synchronize()
print("explicit stream equals current stream:", torch.equal(out, ref))
