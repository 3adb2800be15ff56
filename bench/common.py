"""Helpers shared by the GPU check and the benchmark (run on the GPU machine, torch)."""
import math

import torch


def clustered(B, Hq, H, N, D, dtype, seed, centres=32, noise=0.5, device="cuda"):
    """Keys around `centres` random centres per KV head; the query of each GQA group
    aims at one centre (plus a second, weaker), so attention is peaked but spread over
    a few thousand tokens; values are N(0, 1). `device`: where the tensors are made
    (cpu for a dry run of the scripts on a CPU library)."""
    g = torch.Generator(device=device).manual_seed(seed)
    G = Hq // H
    cen = torch.randn(B, H, centres, D, device=device, generator=g)
    pick = torch.randint(0, centres, (B, H, N), device=device, generator=g)
    k = torch.gather(cen, 2, pick[..., None].expand(-1, -1, -1, D))
    k = k + noise * torch.randn(B, H, N, D, device=device, generator=g)
    c0 = torch.randint(0, centres, (B, H), device=device, generator=g)
    c1 = torch.randint(0, centres, (B, H), device=device, generator=g)
    sel = lambda c: torch.gather(cen, 2, c[:, :, None, None].expand(-1, -1, 1, D))[:, :, 0]
    qh = 0.8 * sel(c0) + 0.4 * sel(c1)                      # [B, H, D]
    q = qh[:, :, None, :].expand(-1, -1, G, -1).reshape(B, Hq, D)
    q = q + 0.3 * torch.randn(B, Hq, D, device=device, generator=g)
    v = torch.randn(B, H, N, D, device=device, generator=g)
    return q.to(dtype).contiguous(), k.to(dtype).contiguous(), v.to(dtype).contiguous()


def dense_f64(q, k, v, lens, b_list=None):
    """Dense decode attention in float64 (per sequence, to bound memory)."""
    B, Hq, D = q.shape
    H = k.shape[1]
    G = Hq // H
    out = torch.zeros(B, Hq, D, dtype=torch.float64, device=q.device)
    for b in (b_list if b_list is not None else range(B)):
        n = int(lens[b])
        if n == 0:
            continue
        kk = k[b, :, :n].double()                             # [H, n, D]
        vv = v[b, :, :n].double()
        qq = q[b].double().view(H, G, D)
        s = torch.einsum("hgd,hnd->hgn", qq, kk) / math.sqrt(D)
        p = torch.softmax(s, dim=-1)
        out[b] = torch.einsum("hgn,hnd->hgd", p, vv).reshape(Hq, D)
    return out


def rel_err(x, ref, b_list=None):
    x = x.double()
    if b_list is not None:
        x, ref = x[b_list], ref[b_list]
    return (torch.linalg.vector_norm(x - ref) / torch.linalg.vector_norm(ref)).item()


def block_layout(Lc, BS):
    nb, rem = Lc // BS, Lc - (Lc // BS) * BS
    if Lc == 0:
        return []
    if nb == 0:
        return [Lc]
    if rem >= BS // 2:
        return [BS] * nb + [rem]
    return [BS] * (nb - 1) + [BS + rem]


@torch.no_grad()
def build_index_torch(k, v, n, shapes, S=16, I=128, BS=8192, f=0.0625, iters=5,
                      chunk=16, dtypes=None):
    """A valid level-0 index (docs/ABI.md) built by blocked k-means in torch, for
    benchmarking the decode step with an index prebuilt on the GPU (every sequence has
    length n). Seeding as in docs/Algorithm.md, fewer iterations, TF32 distances."""
    B, H, N, D = k.shape
    C = shapes["L0.centroids"][2]
    dev = k.device
    Lc = max(0, (n - S - I) // I) * I
    cent = torch.zeros(B, H, C, D, device=dev)
    vcent = torch.zeros(B, H, C, D, device=dev)
    counts = torch.zeros(B, H, C, dtype=torch.int32, device=dev)
    assign = torch.full((B, H, N), -1, dtype=torch.int32, device=dev)
    cs, start, last = 0, S, (S, 0)
    BHn = B * H
    kf = k.reshape(BHn, N, D)
    vf = v.reshape(BHn, N, D)
    for L in block_layout(Lc, BS):
        Cb = max(1, int(math.floor(f * L)))
        for r0 in range(0, BHn, chunk):
            x = kf[r0:r0 + chunk, start:start + L].float()
            mu = x[:, (torch.arange(Cb, device=dev) * L) // Cb].clone()
            for it in range(iters + 1):
                d = (mu * mu).sum(-1)[:, None, :] - 2 * torch.bmm(x, mu.transpose(1, 2))
                a = d.argmin(-1)
                cnt = torch.zeros(x.shape[0], Cb, device=dev).scatter_add_(
                    1, a, torch.ones_like(a, dtype=torch.float32))
                sums = torch.zeros(x.shape[0], Cb, D, device=dev).scatter_add_(
                    1, a[..., None].expand(-1, -1, D), x)
                mu = torch.where(cnt[..., None] > 0, sums / cnt.clamp(min=1)[..., None],
                                 mu if it < iters else torch.zeros_like(mu))
            vs = torch.zeros(x.shape[0], Cb, D, device=dev).scatter_add_(
                1, a[..., None].expand(-1, -1, D), vf[r0:r0 + chunk, start:start + L].float())
            rows = slice(r0, r0 + x.shape[0])
            cent.view(BHn, C, D)[rows, cs:cs + Cb] = mu
            vcent.view(BHn, C, D)[rows, cs:cs + Cb] = vs / cnt.clamp(min=1)[..., None]
            counts.view(BHn, C)[rows, cs:cs + Cb] = cnt.int()
            assign.view(BHn, N)[rows, start:start + L] = (a + cs).int()
        last = (start, cs)
        cs += Cb
        start += L
    # Member lists: tokens grouped by cluster id, ascending within.
    key = torch.where(assign >= 0, assign.long() * N + torch.arange(N, device=dev),
                      torch.full_like(assign, 2 ** 62, dtype=torch.long))
    order = torch.argsort(key, dim=-1)
    members = torch.where(torch.arange(N, device=dev) < Lc, order.int(),
                          torch.full_like(order, -1, dtype=torch.int32))
    offsets = torch.zeros(B, H, C + 1, dtype=torch.int32, device=dev)
    offsets[:, :, 1:] = torch.cumsum(counts, -1).int()
    state = torch.tensor([cs, Lc, last[0], last[1]], dtype=torch.int32,
                         device=dev).expand(B, H, 4).contiguous()
    if dtypes and dtypes.get("L0.centroids") == "bf16":   # centroid-type=bf16 (the default)
        cent, vcent = cent.bfloat16(), vcent.bfloat16()
    return {"L0.centroids": cent, "L0.vcentroids": vcent, "L0.counts": counts,
            "L0.offsets": offsets, "L0.members": members.contiguous(),
            "L0.assign": assign, "L0.state": state}


def median_ms(fn, reps=50, warmup=5):
    s = torch.cuda.current_stream()
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(s)
        fn()
        b.record(s)
        b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def torch_graph(fn):
    """Captures fn() with torch.cuda.graph after a warm-up on a side stream (torch's
    recipe); returns (graph, fn's output). Our calls run on torch's current stream."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        fn()
    torch.cuda.current_stream().wait_stream(s)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = fn()
    torch.cuda.synchronize()
    return g, out
