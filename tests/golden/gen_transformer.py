#!/usr/bin/python3
"""Golden fixtures for seqc's attention op, from PyTorch.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_transformer.py
Writes attention.json and transformer.json beside this file.

attention.json: multi-head scaled dot-product attention written out as
PyTorch computes it (softmax(q k^T / sqrt(dh) + masks) v per head, in double):
q [B, Tq, C], k and v [B, Tk, C], an optional causal mask (query i sees keys
j <= i + Tk - Tq), key padding [B, Tk] (1 = ignored) and an additive mask
[Tq, Tk]; the output, the weights [B, H, Tq, Tk], and the gradients of q, k, v
for L = sum(out * dy).

transformer.json: nn.MultiheadAttention (batch_first; self-attention with a
causal mask, with key padding, cross-attention with Tq != Tk and the weights
averaged over heads), nn.TransformerEncoderLayer and nn.TransformerDecoderLayer
(batch_first, dropout 0, norm_first False and True, relu and gelu): every
parameter (PyTorch names), the inputs, the masks, the upstream gradient dy,
the output and the gradients of every parameter and input for
L = sum(out * dy); and two-layer nn.TransformerEncoder and
nn.TransformerDecoder stacks with a final norm. A causal mask is PyTorch's float mask with -inf above the
diagonal, recorded as "causal": true.
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


def causal_mask(T):
    return torch.triu(torch.full((T, T), float("-inf")), diagonal=1)


def padding(B, T, n):
    """The last batch row ignores its last n keys."""
    pad = torch.zeros(B, T, dtype=torch.bool)
    pad[B - 1, T - n:] = True
    return pad


def module_case(name, m, inputs, forward, extra):
    """Run forward(*inputs) -> out (and maybe weights), backward with a
    random dy; record everything."""
    m.train()
    for x in inputs.values():
        x.requires_grad_(True)
    out = forward(**inputs)
    weights = None
    if isinstance(out, tuple):
        out, weights = out
    dy = torch.randn_like(out)
    (out * dy).sum().backward()
    case = {"name": name, "params": {k: flat(v) for k, v in m.named_parameters()},
            "dy": flat(dy), "out": flat(out),
            "grads": {k: flat(v.grad) for k, v in m.named_parameters()}}
    for k, x in inputs.items():
        case[k] = flat(x)
        case["grads"][k] = flat(x.grad)
    if weights is not None:
        case["weights"] = flat(weights)
    case.update(extra)
    return case


def mha_cases():
    B, E, H = 2, 8, 2
    cases = []
    m = torch.nn.MultiheadAttention(E, H, batch_first=True)
    T = 4
    cases.append(module_case(
        "mha_self_causal", m, {"x": torch.randn(B, T, E)},
        lambda x: m(x, x, x, attn_mask=causal_mask(T), need_weights=False)[0],
        {"B": B, "Tq": T, "Tk": T, "embed": E, "heads": H, "causal": True, "kind": "self"}))
    m = torch.nn.MultiheadAttention(E, H, batch_first=True)
    pad = padding(B, T, 2)
    cases.append(module_case(
        "mha_self_pad", m, {"x": torch.randn(B, T, E)},
        lambda x: m(x, x, x, key_padding_mask=pad, need_weights=False)[0],
        {"B": B, "Tq": T, "Tk": T, "embed": E, "heads": H, "causal": False, "kind": "self",
         "key_pad": [int(v) for v in pad.reshape(-1).tolist()]}))
    m = torch.nn.MultiheadAttention(E, H, batch_first=True)
    Tq, Tk = 3, 5
    pad = padding(B, Tk, 1)
    cases.append(module_case(
        "mha_cross_weights", m, {"x": torch.randn(B, Tq, E), "memory": torch.randn(B, Tk, E)},
        lambda x, memory: m(x, memory, memory, key_padding_mask=pad, need_weights=True),
        {"B": B, "Tq": Tq, "Tk": Tk, "embed": E, "heads": H, "causal": False, "kind": "cross",
         "key_pad": [int(v) for v in pad.reshape(-1).tolist()]}))
    return cases


def layer_cases():
    B, T, S, D, H, FF = 2, 4, 5, 8, 2, 16
    cases = []
    for norm_first in (False, True):
        for act in ("relu", "gelu"):
            kw = dict(d_model=D, nhead=H, dim_feedforward=FF, dropout=0.0, activation=act,
                      batch_first=True, norm_first=norm_first)
            cfg = {"B": B, "T": T, "S": S, "d_model": D, "nhead": H, "dim_feedforward": FF,
                   "activation": act, "norm_first": norm_first, "layer_norm_eps": 1e-5}
            suffix = ("pre" if norm_first else "post") + "_" + act
            # encoder: key padding always, a causal mask with relu
            enc = torch.nn.TransformerEncoderLayer(**kw)
            pad = padding(B, T, 1)
            causal = act == "relu"
            mask = causal_mask(T) if causal else None
            cases.append(module_case(
                "enc_" + suffix, enc, {"x": torch.randn(B, T, D)},
                lambda x, enc=enc, mask=mask, pad=pad: enc(x, src_mask=mask, src_key_padding_mask=pad),
                dict(cfg, kind="encoder", causal=causal,
                     key_pad=[int(v) for v in pad.reshape(-1).tolist()])))
            # decoder: causal target, memory key padding
            dec = torch.nn.TransformerDecoderLayer(**kw)
            mpad = padding(B, S, 2)
            cases.append(module_case(
                "dec_" + suffix, dec, {"x": torch.randn(B, T, D), "memory": torch.randn(B, S, D)},
                lambda x, memory, dec=dec, mpad=mpad: dec(x, memory, tgt_mask=causal_mask(T),
                                                          memory_key_padding_mask=mpad),
                dict(cfg, kind="decoder", causal=True,
                     memory_key_pad=[int(v) for v in mpad.reshape(-1).tolist()])))
    return cases


def perturbed(m):
    """PyTorch's stacks start with equal layers (deep copies) and unit
    norms: move every parameter so that a mixed-up layer would show."""
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m


def stack_cases():
    """nn.TransformerEncoder (pre-norm, gelu) and nn.TransformerDecoder
    (post-norm, relu), two layers each, with a final LayerNorm."""
    B, T, S, D, H, FF, L = 2, 4, 3, 8, 2, 12, 2
    cases = []
    for kind, norm_first, act in (("encoder", True, "gelu"), ("decoder", False, "relu")):
        kw = dict(d_model=D, nhead=H, dim_feedforward=FF, dropout=0.0, activation=act,
                  batch_first=True, norm_first=norm_first)
        cfg = {"B": B, "T": T, "S": S, "d_model": D, "nhead": H, "dim_feedforward": FF,
               "activation": act, "norm_first": norm_first, "layer_norm_eps": 1e-5,
               "layers": L, "kind": kind}
        if kind == "encoder":
            m = perturbed(torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(**kw), L,
                                                      norm=torch.nn.LayerNorm(D)))
            pad = padding(B, T, 1)
            cases.append(module_case(
                "enc_stack", m, {"x": torch.randn(B, T, D)},
                lambda x, m=m, pad=pad: m(x, src_key_padding_mask=pad),
                dict(cfg, causal=False, key_pad=[int(v) for v in pad.reshape(-1).tolist()])))
        else:
            m = perturbed(torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(**kw), L,
                                                      norm=torch.nn.LayerNorm(D)))
            mpad = padding(B, S, 1)
            cases.append(module_case(
                "dec_stack", m, {"x": torch.randn(B, T, D), "memory": torch.randn(B, S, D)},
                lambda x, memory, m=m, mpad=mpad: m(x, memory, tgt_mask=causal_mask(T),
                                                    memory_key_padding_mask=mpad),
                dict(cfg, causal=True, memory_key_pad=[int(v) for v in mpad.reshape(-1).tolist()])))
    return cases


def write(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=None)
        f.write("\n")


def main():
    write("attention.json", {"cases": attention_cases()})
    write("transformer.json", {"mha": mha_cases(), "layers": layer_cases(),
                               "stacks": stack_cases()})


if __name__ == "__main__":
    main()
