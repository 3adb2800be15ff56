"""The small retrieval LM: the transformers Qwen3 architecture, written out in torch.

Parameter names, shapes and arithmetic are those of ``transformers.Qwen3ForCausalLM``
(RMSNorm on q and k per head before RoPE, rotate-half RoPE, GQA, SwiGLU MLP, tied
embeddings), so the saved weights load into transformers unchanged (``bench/accuracy.py``
checks the logits against it). Written out here so that training runs without
transformers and so that the decode loop can hand each layer's attention to another
implementation (``Model.decode(..., attend=...)``): the compiled multipole step, oracle
top-k, Quest.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 1024
    hidden_size: int = 256
    intermediate_size: int = 512
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    head_dim: int = 128
    rope_theta: float = 1e6
    rms_norm_eps: float = 1e-6
    max_position_embeddings: int = 40960
    tie_word_embeddings: bool = True

    def hf_dict(self) -> dict:
        """config.json for transformers' Qwen3ForCausalLM."""
        d = asdict(self)
        d.update(architectures=["Qwen3ForCausalLM"], model_type="qwen3", hidden_act="silu",
                 attention_bias=False, attention_dropout=0.0, use_sliding_window=False,
                 sliding_window=None, max_window_layers=self.num_hidden_layers,
                 initializer_range=0.02, torch_dtype="bfloat16", use_cache=True,
                 bos_token_id=1, eos_token_id=6, pad_token_id=0)
        return d

    @staticmethod
    def load(path: str) -> "Config":
        d = json.load(open(path))
        return Config(**{k: d[k] for k in Config.__dataclass_fields__ if k in d})


class RMSNorm(nn.Module):
    def __init__(self, n: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dt)


def rope_cos_sin(positions: torch.Tensor, dim: int, theta: float, dtype):
    """cos/sin [..., dim] for integer positions (transformers' default RoPE)."""
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64, device=positions.device)
                           .float() / dim))
    f = positions.float()[..., None] * inv
    e = torch.cat([f, f], -1)
    return e.cos().to(dtype), e.sin().to(dtype)


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat([-b, a], -1)


def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        D = c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * D, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * D, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * D, bias=False)
        self.o_proj = nn.Linear(c.num_attention_heads * D, c.hidden_size, bias=False)
        self.q_norm = RMSNorm(D, c.rms_norm_eps)
        self.k_norm = RMSNorm(D, c.rms_norm_eps)

    def qkv(self, x, cos, sin):
        """x [B, T, hidden] -> q [B, Hq, T, D], k, v [B, Hkv, T, D] (RoPE applied)."""
        B, T, _ = x.shape
        D = self.c.head_dim
        q = self.q_norm(self.q_proj(x).view(B, T, -1, D)).transpose(1, 2)
        k = self.k_norm(self.k_proj(x).view(B, T, -1, D)).transpose(1, 2)
        v = self.v_proj(x).view(B, T, -1, D).transpose(1, 2)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v


def causal_attention(q, k, v):
    """[B, Hq, T, D] x [B, Hkv, T, D] causal GQA attention (SDPA when torch has it)."""
    G = q.shape[1] // k.shape[1]
    if hasattr(F, "scaled_dot_product_attention"):
        try:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        except TypeError:  # torch without enable_gqa
            pass
    k = k.repeat_interleave(G, 1)
    v = v.repeat_interleave(G, 1)
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[2]
    s = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return (s.softmax(-1) @ v.float()).to(q.dtype)


class Layer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.self_attn = Attention(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.mlp.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.mlp.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def ffn(self, x):
        m = self.mlp
        h = self.post_attention_layernorm(x)
        return x + m.down_proj(F.silu(m.gate_proj(h)) * m.up_proj(h))


class Model(nn.Module):
    """Qwen3ForCausalLM's parameters (``model.*``; ``lm_head`` tied to the embedding)."""

    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.model.layers = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])
        self.model.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        for mod in self.modules():
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.normal_(mod.weight, std=0.02)

    def logits(self, h):
        return self.model.norm(h) @ self.model.embed_tokens.weight.t()

    def forward(self, tokens, return_kv: bool = False, logits: bool = True, return_q: bool = False):
        """Training / prefill: tokens [B, T] -> logits [B, T, V] (and each layer's k, v;
        ``logits=False``: only the k, v; ``return_q``: (k, v, q) per layer)."""
        B, T = tokens.shape
        x = self.model.embed_tokens(tokens)
        pos = torch.arange(T, device=tokens.device)
        cos, sin = rope_cos_sin(pos, self.c.head_dim, self.c.rope_theta, x.dtype)
        kvs = []
        for layer in self.model.layers:
            a = layer.self_attn
            q, k, v = a.qkv(layer.input_layernorm(x), cos, sin)
            if return_kv:
                kvs.append((k, v, q) if return_q else (k, v))
            o = causal_attention(q, k, v).transpose(1, 2).reshape(B, T, -1)
            x = layer.ffn(x + a.o_proj(o))
        if not logits:
            return kvs
        return (self.logits(x), kvs) if return_kv else self.logits(x)

    def decode(self, token, pos, cache, attend):
        """One decode step for every sequence of the batch.

        token [B] (int64), pos [B] (int64: the position of ``token``, i.e. the current
        length before it is appended), cache: per layer (k, v) of [B, Hkv, N, D];
        ``attend(layer, q [B, Hq, D], k_cache, v_cache, lens [B])`` returns [B, Hq, D]
        after the new token's k, v have been written at ``pos`` (lens = pos + 1).
        Returns logits [B, V]."""
        B = token.shape[0]
        x = self.model.embed_tokens(token)[:, None]
        cos, sin = rope_cos_sin(pos[:, None, None], self.c.head_dim, self.c.rope_theta, x.dtype)
        lens = pos + 1
        rows = torch.arange(B, device=token.device)
        for i, layer in enumerate(self.model.layers):
            a = layer.self_attn
            q, k, v = a.qkv(layer.input_layernorm(x), cos, sin)
            kc, vc = cache[i]
            kc[rows, :, pos] = k[:, :, 0]
            vc[rows, :, pos] = v[:, :, 0]
            o = attend(i, q[:, :, 0].contiguous(), kc, vc, lens)
            x = layer.ffn(x + a.o_proj(o.reshape(B, 1, -1).to(x.dtype)))
        return self.logits(x[:, 0])


def save(model: Model, directory: str):
    """config.json + model.safetensors (bf16), as transformers writes them."""
    import os
    from safetensors.torch import save_file
    os.makedirs(directory, exist_ok=True)
    sd = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
    json.dump(model.c.hf_dict(), open(os.path.join(directory, "config.json"), "w"), indent=2)


def read_safetensors(path: str) -> dict:
    """The tensors of a .safetensors file (8-byte little-endian header size, JSON header,
    raw little-endian data): for machines without the safetensors package (this
    project's CPU machine has Debian's torch but not safetensors)."""
    import struct
    dt = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] not in dt:
            raise RuntimeError(f"{path}: tensor {name} has unsupported dtype {meta['dtype']}")
        a, b = meta["data_offsets"]
        buf = bytearray(raw[8 + n + a:8 + n + b])
        out[name] = torch.frombuffer(buf, dtype=dt[meta["dtype"]]).reshape(meta["shape"]).clone()
    return out


def load(directory: str, device="cuda", dtype=torch.bfloat16) -> Model:
    import os
    c = Config.load(os.path.join(directory, "config.json"))
    m = Model(c)
    path = os.path.join(directory, "model.safetensors")
    try:
        from safetensors.torch import load_file
    except ImportError:
        load_file = read_safetensors
    sd = load_file(path)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    if unexpected or [k for k in missing if k != "lm_head.weight"]:
        raise RuntimeError(f"weights do not match the model: missing {missing}, "
                           f"unexpected {unexpected}")
    return m.to(device=device, dtype=dtype).eval()
