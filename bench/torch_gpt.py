#!/usr/bin/python3
"""The configurations of bench_gpt.c in PyTorch, one JSON line each.

Run by vs_torch.py gpt (or by hand) with Debian's python3-torch at its best
setting here: 2 threads and OMP_WAIT_POLICY=PASSIVE in the environment.
The model is a GPT in nanoGPT's layout (pre-norm blocks, biases, tanh GELU,
tied head), written here for the benchmark. Training = forward + backward +
AdamW step; sampling = 256 tokens at batch 1 under no_grad, once re-running
the whole prefix for every token (as nanoGPT's generate) and once with a
key/value cache.

    /usr/bin/python3 bench/torch_gpt.py [SECONDS] [CONFIG]
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

# name, layers, heads, width, context, batch
CONFIGS = [
    ("gpt-4x128-ctx64", 4, 4, 128, 64, 12),
    ("gpt-6x384-ctx256", 6, 6, 384, 256, 8),
]
SAMPLE_CONFIG = "gpt-6x384-ctx256"
VOCAB = 65


class Block(torch.nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln_1 = torch.nn.LayerNorm(C)
        self.c_attn = torch.nn.Linear(C, 3 * C)
        self.c_proj = torch.nn.Linear(C, C)
        self.ln_2 = torch.nn.LayerNorm(C)
        self.c_fc = torch.nn.Linear(C, 4 * C)
        self.mlp_proj = torch.nn.Linear(4 * C, C)

    def attend(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        heads = lambda t: t.view(B, -1, self.H, C // self.H).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        Tk = k.size(2)
        if T > 1:
            mask = torch.ones(T, Tk, dtype=torch.bool).tril(Tk - T)
            att = att.masked_fill(~mask, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cache=None):
        x = x + self.attend(x, cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(self, L, H, C, ctx):
        super().__init__()
        self.wte = torch.nn.Embedding(VOCAB, C)
        self.wpe = torch.nn.Embedding(ctx, C)
        self.h = torch.nn.ModuleList(Block(C, H) for _ in range(L))
        self.ln_f = torch.nn.LayerNorm(C)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, idx, caches=None, pos0=0):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(pos0, pos0 + T))
        for i, b in enumerate(self.h):
            x = b(x, caches[i] if caches is not None else None)
        return self.ln_f(x) @ self.wte.weight.t()

    def flops_per_token(self, ctx):
        # nanoGPT's estimate_mfu: 6 N (without position embeddings) + 12 L H Q T
        n = sum(p.numel() for p in self.parameters()) - self.wpe.weight.numel()
        L, C = len(self.h), self.ln_f.weight.numel()
        return 6 * n + 12 * L * C * ctx


def train(name, L, H, C, ctx, B, seconds):
    torch.manual_seed(0)
    m = GPT(L, H, C, ctx)
    decay = [p for p in m.parameters() if p.dim() >= 2]
    other = [p for p in m.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": other, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
    x = torch.randint(0, VOCAB, (B, ctx))
    y = torch.randint(0, VOCAB, (B, ctx))
    times, end = [], time.time() + seconds
    while len(times) < 4 or time.time() < end:
        t0 = time.perf_counter()
        logits = m(x)
        loss = F.cross_entropy(logits.view(-1, VOCAB), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    med = times[len(times) // 2]
    print(json.dumps({"bench": "gpt_train", "config": name, "impl": "pytorch",
                      "ms_per_iter": round(1e3 * med, 2), "tokens_per_s": round(B * ctx / med),
                      "flops_per_iter": m.flops_per_token(ctx) * B * ctx, "steps": len(times) + 1,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


@torch.no_grad()
def sample(name, L, H, C, ctx, n_tokens=256):
    torch.manual_seed(0)
    m = GPT(L, H, C, ctx).eval()
    out = {}
    for mode in ("prefix", "kv_cache"):
        idx = torch.zeros(1, 1, dtype=torch.long)
        caches = [dict() for _ in range(L)] if mode == "kv_cache" else None
        t0 = time.perf_counter()
        for i in range(n_tokens):
            if mode == "prefix":
                logits = m(idx[:, -ctx:])[:, -1]
            else:
                logits = m(idx[:, -1:], caches, pos0=i)[:, -1]
            nxt = torch.multinomial(F.softmax(logits, dim=-1), 1)
            idx = torch.cat([idx, nxt], dim=1)
        out[mode] = round(n_tokens / (time.perf_counter() - t0), 1)
    print(json.dumps({"bench": "gpt_sample", "config": name, "impl": "pytorch", "tokens": n_tokens,
                      "tokens_per_s_prefix": out["prefix"], "tokens_per_s": out["kv_cache"],
                      "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    only = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(2)
    for name, L, H, C, ctx, B in CONFIGS:
        if not only or only == name:
            train(name, L, H, C, ctx, B, seconds)
        if name == SAMPLE_CONFIG and (not only or only == "sample"):
            sample(name, L, H, C, ctx)


if __name__ == "__main__":
    main()
