#!/usr/bin/python3
"""Golden fixtures for the core ops (tests/seq/test_golden.c), from PyTorch.

Run by hand with Debian's python3 and torch, from anywhere:

    /usr/bin/python3 tests/golden/gen_ops.py

It writes tests/golden/ops.json next to itself. Inputs are drawn in float32
from a fixed seed; the outputs and gradients are computed in float64 from
those exact float32 values, so the fixture holds the true answer and the C
test's tolerance measures only seqc's own float32 rounding. Each case has:

    op        the seqc op ("cross_entropy", "layer_norm", "log_softmax",
              "softmax", "gelu", "linear")
    params    op options (reduction, label_smoothing, ignore_index, eps,
              approximate)
    inputs    {name: tensor} in the order of the op's arguments; every one of
              them gets a gradient
    targets   (cross_entropy) ids with their shape
    dy        the fixed upstream gradient of the output
    output    the op's output
    grads     {name: tensor}: d(sum(dy * output)) / d(input)

A tensor is {"shape": [...], "data": [... row-major ...]}.
"""

import json
import os

import torch
import torch.nn.functional as F

SEED = 20261122


def tensor_json(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def draw(gen, *shape, scale=1.0):
    """float32 normal values (the inputs seqc will read exactly)."""
    return (torch.randn(*shape, generator=gen, dtype=torch.float32) * scale)


def run(op_fn, inputs, dy):
    """Output and input gradients in float64 from float32 inputs."""
    leaves = {k: v.to(torch.float64).requires_grad_(True) for k, v in inputs.items()}
    out = op_fn(**leaves)
    out.backward(dy.to(torch.float64).reshape(out.shape))
    return out, {k: v.grad for k, v in leaves.items()}


def case(name, op, params, inputs, op_fn, gen, targets=None, dy_scalar=None):
    """One fixture; dy is dy_scalar for a scalar output, else drawn."""
    if dy_scalar is not None:
        dy = torch.tensor([dy_scalar], dtype=torch.float32)
    else:
        with torch.no_grad():
            shape = op_fn(**{k: v.to(torch.float64) for k, v in inputs.items()}).shape
        dy = draw(gen, *shape)
    out, grads = run(op_fn, inputs, dy)
    c = {
        "name": name,
        "op": op,
        "params": params,
        "inputs": {k: tensor_json(v) for k, v in inputs.items()},
        "dy": tensor_json(dy),
        "output": tensor_json(out.reshape(-1) if out.dim() == 0 else out),
        "grads": {k: tensor_json(g) for k, g in grads.items()},
    }
    if targets is not None:
        c["targets"] = {"shape": list(targets.shape), "data": targets.reshape(-1).tolist()}
    return c


def main():
    gen = torch.Generator().manual_seed(SEED)
    cases = []

    # Cross-entropy over logits [B=2, T=4, V=7] with targets [2, 4]: label
    # smoothing 0.1 and ignored targets, with the default ignore_index (-100)
    # and with a padding id (3) as ignore_index; mean and sum.
    logits = draw(gen, 2, 4, 7, scale=2.0)
    for ignore, tgt in ((-100, [[1, 6, -100, 0], [3, -100, 2, 5]]),
                        (3, [[1, 6, 3, 0], [3, 4, 2, 5]])):
        targets = torch.tensor(tgt, dtype=torch.int64)
        for reduction in ("mean", "sum"):
            for smoothing in (0.0, 0.1):
                def ce(logits, _t=targets, _r=reduction, _s=smoothing, _i=ignore):
                    return F.cross_entropy(logits.reshape(-1, 7), _t.reshape(-1), reduction=_r,
                                           ignore_index=_i, label_smoothing=_s)
                cases.append(case(f"cross_entropy {reduction} smoothing {smoothing} ignore {ignore}",
                                  "cross_entropy",
                                  {"reduction": reduction, "label_smoothing": smoothing,
                                   "ignore_index": ignore},
                                  {"logits": logits}, ce, gen, targets=targets, dy_scalar=0.75))

    # Layer norm over the last axis of x [2, 3, 8], affine, eps 1e-5 (and
    # without the affine part).
    x = draw(gen, 2, 3, 8, scale=1.5) + 0.5
    w = 1.0 + draw(gen, 8, scale=0.3)
    b = draw(gen, 8, scale=0.3)
    cases.append(case("layer_norm affine", "layer_norm", {"eps": 1e-5},
                      {"x": x, "weight": w, "bias": b},
                      lambda x, weight, bias: F.layer_norm(x, (8,), weight, bias, eps=1e-5), gen))
    cases.append(case("layer_norm plain", "layer_norm", {"eps": 1e-5}, {"x": x},
                      lambda x: F.layer_norm(x, (8,), None, None, eps=1e-5), gen))

    # Softmax and log-softmax over the last axis of [4, 9].
    s = draw(gen, 4, 9, scale=3.0)
    cases.append(case("softmax", "softmax", {}, {"x": s}, lambda x: F.softmax(x, dim=-1), gen))
    cases.append(case("log_softmax", "log_softmax", {}, {"x": s},
                      lambda x: F.log_softmax(x, dim=-1), gen))

    # GELU, both forms, over [3, 10] spanning [-5, 5].
    gx = torch.linspace(-5, 5, 30, dtype=torch.float32).reshape(3, 10) + draw(gen, 3, 10, scale=0.05)
    for approx in ("none", "tanh"):
        cases.append(case(f"gelu {approx}", "gelu", {"approximate": approx}, {"x": gx},
                          lambda x, _a=approx: F.gelu(x, approximate=_a), gen))

    # Linear: x [2, 3, 5], weight [4, 5] ([out, in] as nn.Linear), bias [4];
    # and without the bias.
    lx = draw(gen, 2, 3, 5)
    lw = draw(gen, 4, 5, scale=0.5)
    lb = draw(gen, 4, scale=0.5)
    cases.append(case("linear", "linear", {}, {"x": lx, "weight": lw, "bias": lb},
                      lambda x, weight, bias: F.linear(x, weight, bias), gen))
    cases.append(case("linear no bias", "linear", {}, {"x": lx, "weight": lw},
                      lambda x, weight: F.linear(x, weight), gen))

    doc = {
        "generator": "tests/golden/gen_ops.py",
        "torch": torch.__version__,
        "seed": SEED,
        "note": "inputs are float32 values; outputs and gradients computed in float64",
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
