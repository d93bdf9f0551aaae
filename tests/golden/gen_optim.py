#!/usr/bin/python3
"""Golden fixture for seqc's optimizers, clipping and plateau schedule, from
PyTorch 1.13.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_optim.py
Writes optim.json:

- "params": the store layout, in seqc's order: name, shape, no_decay.
- "init": the initial parameter values, flat in that order.
- "grads": 5 gradients, flat in that order.
- "optim": one case per configuration: seqc's optimizer spec, the learning
  rate of each step, the flat parameters after each step and the state
  buffers (under torch's names, flat) after the last step. torch runs each
  case with two param groups, the no_decay parameters with weight_decay 0
  (or the same weight decay when the spec says decay_all=1), which is what
  seqc's no_decay flags mean.
- "clip_norm": torch.nn.utils.clip_grad_norm_ results (norm and grads).
- "clip_value": torch.nn.utils.clip_grad_value_ results.
- "plateau": torch's ReduceLROnPlateau on a scripted loss sequence, with
  seqc's schedule spec and the rate after each report.

Every hyperparameter is rounded to float32 before torch sees it, so torch
and seqc (whose configs are float) start from the same numbers.
"""
import json
import os

import torch

torch.manual_seed(1234)

# name, shape, no_decay: decayed and exempt parameters interleaved, so the
# runs of equal decay in seqc's flat loop are exercised.
LAYOUT = [("w1", [3, 4], False), ("b1", [4], True), ("w2", [5], False), ("n1", [3], True)]
STEPS = 5
LR_SCALE = [1.0, 0.5, 2.0, 1.0, 0.25]  # per-step multipliers of the case's lr

# seqc_optim_defaults, by spec key.
DEFAULTS = {
    "sgd": dict(lr=1e-3, momentum=0, dampening=0, nesterov=0, wd=0, decay_all=0),
    "adagrad": dict(lr=1e-2, lr_decay=0, wd=0, init_acc=0, eps=1e-10, decay_all=0),
    "rmsprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, wd=0, momentum=0, centered=0, decay_all=0),
    "adam": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, wd=0, decay_all=0),
    "adamw": dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, wd=1e-2, decay_all=0),
}

# (spec, base lr of the steps)
CASES = [
    ("sgd:lr=0.1", 0.1),
    ("sgd:momentum=0.9,dampening=0.1", 0.1),
    ("sgd:momentum=0.9,nesterov=1", 0.1),
    ("sgd:momentum=0.5,wd=0.01", 0.1),
    ("sgd:wd=0.1,decay_all=1", 0.1),
    ("adagrad:lr_decay=0.01,wd=0.1,init_acc=0.1", 0.1),
    ("adagrad", 0.1),
    ("rmsprop", 0.01),
    ("rmsprop:centered=1,alpha=0.9", 0.01),
    ("rmsprop:momentum=0.9,wd=0.01", 0.01),
    ("rmsprop:centered=1,momentum=0.5,eps=1e-6", 0.01),
    ("adam:wd=0.01", 0.01),
    ("adam:beta1=0.8,beta2=0.99,eps=1e-6", 0.01),
    ("adamw", 0.01),
    ("adamw:wd=0.1,decay_all=1,beta2=0.95", 0.01),
]


def f32(x):
    return torch.tensor(float(x), dtype=torch.float32).item()


def flat(tensors):
    return [float(v) for t in tensors for v in t.detach().reshape(-1).tolist()]


def parse(spec):
    kind, _, rest = spec.partition(":")
    cfg = dict(DEFAULTS[kind])
    for part in filter(None, rest.split(",")):
        key, value = part.split("=")
        assert key in cfg, key
        cfg[key] = float(value)
    return kind, {k: f32(v) for k, v in cfg.items()}


def make(kind, c, decay, exempt):
    wd = c["wd"]
    groups = [{"params": decay, "weight_decay": wd},
              {"params": exempt, "weight_decay": wd if c["decay_all"] else 0.0}]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=c["lr"], momentum=c["momentum"], dampening=c["dampening"],
                               nesterov=bool(c["nesterov"]), weight_decay=wd)
    if kind == "adagrad":
        return torch.optim.Adagrad(groups, lr=c["lr"], lr_decay=c["lr_decay"], weight_decay=wd,
                                   initial_accumulator_value=c["init_acc"], eps=c["eps"])
    if kind == "rmsprop":
        return torch.optim.RMSprop(groups, lr=c["lr"], alpha=c["alpha"], eps=c["eps"], weight_decay=wd,
                                   momentum=c["momentum"], centered=bool(c["centered"]))
    cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
    return cls(groups, lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"], weight_decay=wd,
               amsgrad=False)


def run_case(spec, base_lr, init, grads):
    kind, c = parse(spec)
    params = [t.clone().requires_grad_(True) for t in init]
    decay = [p for p, (_, _, nd) in zip(params, LAYOUT) if not nd]
    exempt = [p for p, (_, _, nd) in zip(params, LAYOUT) if nd]
    opt = make(kind, c, decay, exempt)
    lrs, after = [], []
    for t in range(STEPS):
        lr = f32(base_lr * LR_SCALE[t])
        for group in opt.param_groups:
            group["lr"] = lr
        for p, g in zip(params, grads[t]):
            p.grad = g.clone()
        opt.step()
        lrs.append(lr)
        after.append(flat(params))
    names = sorted({k for p in params for k, v in opt.state[p].items()
                    if torch.is_tensor(v) and v.shape == p.shape})
    state = {n: flat(opt.state[p][n] for p in params) for n in names}
    return {"spec": spec, "lrs": lrs, "after": after, "state": state}


def clip_cases(grads):
    norm_cases = []
    for max_norm in [1.0, 100.0]:
        ps = [torch.zeros(shape, requires_grad=True) for _, shape, _ in LAYOUT]
        for p, g in zip(ps, grads):
            p.grad = g.clone()
        norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        norm_cases.append({"max_norm": max_norm, "norm": float(norm),
                           "before": flat(grads), "after": flat(p.grad for p in ps)})
    ps = [torch.zeros(shape, requires_grad=True) for _, shape, _ in LAYOUT]
    for p, g in zip(ps, grads):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_value_(ps, 0.5)
    value_case = {"clip": 0.5, "before": flat(grads), "after": flat(p.grad for p in ps)}
    return norm_cases, value_case


def plateau():
    spec = "plateau:lr=1,factor=0.5,patience=2,cooldown=1,min=0.1"
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=0.5, patience=2, threshold=f32(1e-4), threshold_mode="rel",
        cooldown=1, min_lr=f32(0.1))
    # improvements, a plateau, a change below the relative threshold
    # (3.9999 > 4 * (1 - 1e-4)), reductions with cooldown, then the floor.
    losses = [5.0, 4.0, 4.0, 4.0, 4.0, 3.9999, 3.0, 3.0, 3.0, 3.0, 2.0, 2.5, 2.5, 2.5,
              2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]
    lrs = []
    for loss in losses:
        sched.step(loss)
        lrs.append(opt.param_groups[0]["lr"])
    return {"spec": spec, "losses": losses, "lrs": lrs}


def main():
    init = [torch.randn(shape) for _, shape, _ in LAYOUT]
    grads = [[torch.randn(shape) for _, shape, _ in LAYOUT] for _ in range(STEPS)]
    grads[2][0][1, 2] = 0.0  # an exact zero gradient
    grads[3] = [g * 10 for g in grads[3]]  # a large step for the moments
    cases = [run_case(spec, lr, init, grads) for spec, lr in CASES]
    norm_cases, value_case = clip_cases(grads[0])
    out = {
        "params": [{"name": n, "shape": s, "no_decay": nd} for n, s, nd in LAYOUT],
        "init": flat(init),
        "grads": [flat(g) for g in grads],
        "optim": cases,
        "clip_norm": norm_cases,
        "clip_value": value_case,
        "plateau": plateau(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path, "with", len(cases), "optimizer cases")


if __name__ == "__main__":
    main()
