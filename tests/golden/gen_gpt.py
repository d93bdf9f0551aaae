#!/usr/bin/python3
"""Golden fixtures for seqc's gpt model, from a PyTorch reference.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_gpt.py
Writes:
  gpt.json: for tiny GPTs in nanoGPT's layout (V 11, context 8, 2 layers,
    2 heads, C 8; one with biases and tanh GELU, one without biases and with
    the exact GELU over the full context), the parameters under seqc's
    names, inputs and targets [B, T] (one target ignored with -1), the
    logits, the mean cross-entropy and every parameter gradient.
  gpt_hf/model.safetensors and gpt_hf/config.json: the first model as a
    Hugging Face GPT-2 checkpoint would hold it (names "h.0.attn.c_attn.weight"
    without a prefix, Conv1D weights stored [in, out], the "attn.bias" and
    "attn.masked_bias" buffers), written byte by byte as the safetensors
    format says (the Python package is not installed here).

The reference model is written here from the equations of GPT-2: pre-norm
blocks x += proj(attn(ln_1(x))), x += proj(gelu(fc(ln_2(x)))), causal
softmax attention scaled by 1/sqrt(head_dim), final layer norm, head tied
to the token embedding. Parameters are random (not the GPT-2 init) so that
biases and layer norms are exercised, and float32-representable, so that
the F32 checkpoint holds exactly the values the logits were computed from.
"""
import json
import math
import os
import struct

import torch

torch.manual_seed(11)
torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
V, CTX, L, H, C = 11, 8, 2, 2, 8


def param_shapes(bias):
    """seqc's (nanoGPT's) names and shapes, in the order the model adds them."""
    shapes = [("transformer.wte.weight", (V, C)), ("transformer.wpe.weight", (CTX, C))]

    def linear(prefix, out, inp):
        shapes.append((prefix + ".weight", (out, inp)))
        if bias:
            shapes.append((prefix + ".bias", (out,)))

    def norm(prefix):
        shapes.append((prefix + ".weight", (C,)))
        if bias:
            shapes.append((prefix + ".bias", (C,)))

    for l in range(L):
        p = "transformer.h.%d." % l
        norm(p + "ln_1")
        linear(p + "attn.c_attn", 3 * C, C)
        linear(p + "attn.c_proj", C, C)
        norm(p + "ln_2")
        linear(p + "mlp.c_fc", 4 * C, C)
        linear(p + "mlp.c_proj", C, 4 * C)
    norm("transformer.ln_f")
    return shapes


def random_params(bias):
    params = {}
    for name, shape in param_shapes(bias):
        if "ln_" in name and name.endswith(".weight"):
            t = 1 + 0.2 * torch.randn(shape)
        elif name.endswith(".bias"):
            t = 0.1 * torch.randn(shape)
        else:
            t = 0.3 * torch.randn(shape)
        # float32-representable values
        params[name] = t.float().double().requires_grad_()
    return params


def layer_norm(x, p, prefix):
    return torch.nn.functional.layer_norm(x, (C,), p[prefix + ".weight"], p.get(prefix + ".bias"),
                                          1e-5)


def linear(x, p, prefix):
    return torch.nn.functional.linear(x, p[prefix + ".weight"], p.get(prefix + ".bias"))


def attention(qkv, T):
    B = qkv.shape[0]
    hd = C // H
    q, k, v = (t.reshape(B, T, H, hd).transpose(1, 2) for t in qkv.split(C, dim=2))
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
    return (weights @ v).transpose(1, 2).reshape(B, T, C)


def forward(p, x, gelu):
    B, T = x.shape
    h = p["transformer.wte.weight"][x] + p["transformer.wpe.weight"][torch.arange(T)]
    for l in range(L):
        pre = "transformer.h.%d." % l
        a = attention(linear(layer_norm(h, p, pre + "ln_1"), p, pre + "attn.c_attn"), T)
        h = h + linear(a, p, pre + "attn.c_proj")
        m = torch.nn.functional.gelu(linear(layer_norm(h, p, pre + "ln_2"), p, pre + "mlp.c_fc"),
                                     approximate=gelu)
        h = h + linear(m, p, pre + "mlp.c_proj")
    return torch.nn.functional.linear(layer_norm(h, p, "transformer.ln_f"),
                                      p["transformer.wte.weight"])


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make_case(name, bias, gelu, B, T):
    p = random_params(bias)
    x = torch.randint(0, V, (B, T))
    y = torch.randint(0, V, (B, T))
    y[1, 1] = -1
    logits = forward(p, x, gelu)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1), ignore_index=-1)
    loss.backward()
    case = {"name": name, "vocab": V, "context": CTX, "layers": L, "heads": H, "embed": C,
            "bias": bias, "gelu": "exact" if gelu == "none" else "tanh", "ln_eps": 1e-5,
            "B": B, "T": T, "inputs": x.reshape(-1).tolist(), "targets": y.reshape(-1).tolist(),
            "logits": flat(logits), "loss": float(loss),
            "params": {k: flat(v) for k, v in p.items()},
            "grads": {k: flat(v.grad) for k, v in p.items()}}
    return case, p


# ---- the Hugging Face GPT-2 checkpoint ----

def hf_tensors(p):
    """HF GPT-2 names (no prefix) and layouts: Conv1D weights transposed."""
    out = {}
    for name, t in p.items():
        hf = name[len("transformer."):]
        t = t.detach().float()
        if t.dim() == 2 and ".h." in name:
            t = t.t().contiguous()
        out[hf] = t
    mask = torch.tril(torch.ones(CTX, CTX, dtype=torch.float32)).reshape(1, 1, CTX, CTX)
    for l in range(L):
        out["h.%d.attn.bias" % l] = mask
        out["h.%d.attn.masked_bias" % l] = torch.tensor(-1e4, dtype=torch.float32)
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def check_attention():
    """The attention above against torch.nn.MultiheadAttention with
    identity projections and a causal mask: the reference must not carry a
    bug of its own into the fixtures."""
    gen = torch.Generator().manual_seed(5)
    T = 5
    qkv = torch.randn(2, T, 3 * C, generator=gen)
    mha = torch.nn.MultiheadAttention(C, H, bias=False, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([torch.eye(C)] * 3))
        mha.out_proj.weight.copy_(torch.eye(C))
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    q, k, v = qkv.split(C, dim=2)
    want, _ = mha(q, k, v, attn_mask=future, need_weights=False)
    assert torch.allclose(attention(qkv, T), want, atol=1e-12), "reference attention is wrong"


def main():
    cases = []
    bias_case, bias_params = make_case("bias", True, "tanh", 2, 6)
    cases.append(bias_case)
    cases.append(make_case("nobias", False, "none", 2, CTX)[0])
    folder = os.path.join(HERE, "gpt_hf")
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), hf_tensors(bias_params))
    config = {"model_type": "gpt2", "vocab_size": V, "n_positions": CTX, "n_embd": C,
              "n_layer": L, "n_head": H, "layer_norm_epsilon": 1e-5,
              "activation_function": "gelu_new"}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(HERE, "gpt.json"), "w") as f:
        json.dump({"generator": "gen_gpt.py", "torch": torch.__version__, "cases": cases,
                   "hf": {"file": "gpt_hf/model.safetensors", "case": "bias"}}, f)
        f.write("\n")
    check_attention()


if __name__ == "__main__":
    main()
