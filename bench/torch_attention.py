#!/usr/bin/python3
"""The shapes of bench_attention.c in PyTorch 1.13, one JSON line each.

Causal self-attention as nanoGPT's CausalSelfAttention computes it without
flash attention (1.13 has no F.scaled_dot_product_attention): q, k, v split
from one [B, T, 3C] tensor, att = softmax(q k^T / sqrt(dh) masked_fill
-inf), y = att v. Forward alone under no_grad, and forward + backward from a
fixed upstream gradient. Run with 2 threads and OMP_WAIT_POLICY=PASSIVE:
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_attention.py
"""
import json
import math
import sys
import time

import torch

SHAPES = [
    ("gpt-B12-T64-C128-H4", 12, 64, 128, 4),
    ("gpt-B8-T256-C384-H6", 8, 256, 384, 6),
]


def attention(qkv, C, H, bias):
    B, T, _ = qkv.shape
    q, k, v = qkv.split(C, dim=2)
    q = q.view(B, T, H, C // H).transpose(1, 2)
    k = k.view(B, T, H, C // H).transpose(1, 2)
    v = v.view(B, T, H, C // H).transpose(1, 2)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
    att = att.masked_fill(bias[:, :, :T, :T] == 0, float("-inf"))
    att = torch.softmax(att, dim=-1)
    return (att @ v).transpose(1, 2).contiguous().view(B, T, C)


def best_time(fn, min_time, repeats):
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < 0.1:
        fn()
        n += 1
    batch = int(min_time / ((time.perf_counter() - t0) / n)) + 1
    best = 1e30
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(batch):
            fn()
        best = min(best, (time.perf_counter() - t) / batch)
    return best


def main():
    min_time, repeats = 0.5, 3
    if "--quick" in sys.argv:
        min_time, repeats = 0.1, 1
    torch.set_num_threads(2)
    for name, B, T, C, H in SHAPES:
        torch.manual_seed(1)
        qkv = torch.randn(B, T, 3 * C, requires_grad=True)
        dy = torch.randn(B, T, C)
        bias = torch.tril(torch.ones(T, T)).view(1, 1, T, T)

        def fwd():
            with torch.no_grad():
                attention(qkv, C, H, bias)

        def fwd_bwd():
            qkv.grad = None
            attention(qkv, C, H, bias).backward(dy)

        flops_fwd = 4.0 * B * T * T * C
        for pass_name, fn, flops in (("fwd", fwd, flops_fwd), ("fwd+bwd", fwd_bwd, 3 * flops_fwd)):
            sec = best_time(fn, min_time, repeats)
            print(json.dumps({"bench": "attention", "shape": name, "impl": "pytorch",
                              "pass": pass_name, "B": B, "T": T, "C": C, "heads": H,
                              "ms": round(1e3 * sec, 4), "gflops": round(flops / sec * 1e-9, 2),
                              "threads": torch.get_num_threads(), "torch": torch.__version__}),
                  flush=True)


if __name__ == "__main__":
    main()
