#!/usr/bin/python3
"""Golden fixtures for seqc's attention op, from PyTorch.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_transformer.py
Writes attention.json beside this file.

attention.json: multi-head scaled dot-product attention written out as
PyTorch computes it (softmax(q k^T / sqrt(dh) + masks) v per head, in double):
q [B, Tq, C], k and v [B, Tk, C], an optional causal mask (query i sees keys
j <= i + Tk - Tq), key padding [B, Tk] (1 = ignored) and an additive mask
[Tq, Tk]; the output, the weights [B, H, Tq, Tk], and the gradients of q, k, v
for L = sum(out * dy).
"""
import json
import math
import os

import torch

torch.manual_seed(20261202)
torch.set_default_dtype(torch.float64)  # references in double, compared in float

HERE = os.path.dirname(os.path.abspath(__file__))


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def sdpa(q, k, v, heads, causal, key_pad, mask):
    """Multi-head attention on [B, T, C] tensors; returns out and weights."""
    B, Tq, C = q.shape
    Tk = k.shape[1]
    dh = C // heads
    qh = q.view(B, Tq, heads, dh).transpose(1, 2)
    kh = k.view(B, Tk, heads, dh).transpose(1, 2)
    vh = v.view(B, Tk, heads, dh).transpose(1, 2)
    s = qh @ kh.transpose(-2, -1) / math.sqrt(dh)
    if mask is not None:
        s = s + mask
    if causal:
        i = torch.arange(Tq).view(Tq, 1)
        j = torch.arange(Tk).view(1, Tk)
        s = s.masked_fill(j > i + (Tk - Tq), float("-inf"))
    if key_pad is not None:
        s = s.masked_fill(key_pad.view(B, 1, 1, Tk), float("-inf"))
    w = torch.softmax(s, dim=-1)
    out = (w @ vh).transpose(1, 2).reshape(B, Tq, C)
    return out, w


ATTN_CASES = [
    # name, B, Tq, Tk, C, heads, causal, key padding, additive mask
    ("self_plain", 2, 4, 4, 6, 2, False, False, False),
    ("self_causal", 2, 5, 5, 6, 3, True, False, False),
    ("self_causal_pad_mask", 2, 5, 5, 6, 2, True, True, True),
    ("cross_pad", 2, 3, 5, 8, 2, False, True, False),
    ("cross_causal_mask", 1, 3, 6, 4, 1, True, False, True),
]


def attention_cases():
    cases = []
    for name, B, Tq, Tk, C, H, causal, pad, add in ATTN_CASES:
        q = torch.randn(B, Tq, C, requires_grad=True)
        k = torch.randn(B, Tk, C, requires_grad=True)
        v = torch.randn(B, Tk, C, requires_grad=True)
        key_pad = None
        if pad:
            # the last row pads its last two keys; no row is fully masked
            key_pad = torch.zeros(B, Tk, dtype=torch.bool)
            key_pad[B - 1, Tk - 2:] = True
        mask = None
        if add:
            mask = torch.randn(Tq, Tk)
            mask[Tq - 1, 0] = float("-inf")
        out, w = sdpa(q, k, v, H, causal, key_pad, mask)
        dy = torch.randn_like(out)
        (out * dy).sum().backward()
        case = {"name": name, "B": B, "Tq": Tq, "Tk": Tk, "C": C, "heads": H,
                "causal": causal, "q": flat(q), "k": flat(k), "v": flat(v),
                "dy": flat(dy), "out": flat(out), "weights": flat(w),
                "dq": flat(q.grad), "dk": flat(k.grad), "dv": flat(v.grad)}
        if key_pad is not None:
            case["key_pad"] = [int(x) for x in key_pad.reshape(-1).tolist()]
        if mask is not None:
            # JSON has no infinity: -1e30 stands for it (the test maps it back)
            case["mask"] = [x if math.isfinite(x) else -1e30 for x in flat(mask)]
        cases.append(case)
    return cases


def write(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=None)
        f.write("\n")


def main():
    write("attention.json", {"cases": attention_cases()})


if __name__ == "__main__":
    main()
