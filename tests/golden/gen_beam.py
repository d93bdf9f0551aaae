#!/usr/bin/python3
"""Golden fixtures for seqc's beam search (decode/beam.h), from a reference
written here in plain Python over PyTorch in float64.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_beam.py
Reads gpt.json (the "bias" case of gen_gpt.py: V 11, context 8, 2 layers,
2 heads, C 8) and writes beam.json: for several search settings and
prompts, the hypotheses (ids, log-probability sum, score) the search must
return, best first.

The reference is the search decode/beam.h describes, written the simplest
way: no cache (every beam's whole prefix re-run through gen_gpt.forward at
every step), no batching, no row reordering; candidates sorted in full.
At each step: log_softmax, eos banned below min_len, no-repeat n-gram bans
over the history (the prompt after the start token, then the generated
tokens); the best 2k of all k x V candidates in order: eos among the first
k goes to the pool, others become the next beams until there are k; at
max_len they join the pool; the pool keeps k by score (a newcomer replaces
the worst only when strictly better); stop when the pool holds k and either
stop_at_first_k or the best next beam, normalized at its length (at max_len
with exact_stop), is no better than the worst kept.
"""
import json
import math
import os

import torch

import gen_gpt

HERE = os.path.dirname(os.path.abspath(__file__))
EOS = 3
PROMPTS = [[0], [0, 4], [0, 7]]
SEARCHES = [
    {"beam": 3, "nbest": 3, "lenpen": "none", "alpha": 1.0, "min_len": 0, "max_len": 5,
     "no_repeat_ngram": 0, "stop_at_first_k": False},
    {"beam": 3, "nbest": 2, "lenpen": "avg", "alpha": 1.0, "min_len": 2, "max_len": 5,
     "no_repeat_ngram": 0, "stop_at_first_k": False},
    {"beam": 4, "nbest": 4, "lenpen": "gnmt", "alpha": 0.6, "min_len": 0, "max_len": 6,
     "no_repeat_ngram": 2, "stop_at_first_k": False},
    {"beam": 2, "nbest": 2, "lenpen": "none", "alpha": 1.0, "min_len": 0, "max_len": 5,
     "no_repeat_ngram": 0, "stop_at_first_k": True},
    # where Hugging Face's stopping heuristic decides (alpha > 0)
    {"beam": 2, "nbest": 2, "lenpen": "avg", "alpha": 2.0, "min_len": 0, "max_len": 7,
     "no_repeat_ngram": 0, "stop_at_first_k": False},
    {"beam": 2, "nbest": 1, "lenpen": "gnmt", "alpha": 1.5, "min_len": 0, "max_len": 7,
     "no_repeat_ngram": 0, "stop_at_first_k": False},
    # the bound at max_len instead (early_stopping="never")
    {"beam": 2, "nbest": 2, "lenpen": "avg", "alpha": 2.0, "min_len": 0, "max_len": 7,
     "no_repeat_ngram": 0, "stop_at_first_k": False, "exact_stop": True},
]


def lenpen(cfg, s, n):
    if cfg["lenpen"] == "avg":
        return s / n ** cfg["alpha"]
    if cfg["lenpen"] == "gnmt":
        return s / ((5 + n) / 6) ** cfg["alpha"]
    return s


def log_probs(p, prompt, gen):
    x = torch.tensor([prompt + gen])
    return torch.log_softmax(gen_gpt.forward(p, x, "tanh")[0, -1], dim=-1)


def ban_ngrams(lp, hist, n):
    if not n or len(hist) < n:
        return
    tail = hist[len(hist) - (n - 1):]
    for i in range(len(hist) - n + 1):
        if hist[i:i + n - 1] == tail:
            lp[hist[i + n - 1]] = float("-inf")


def offer(cfg, pool, ids, s):
    score = lenpen(cfg, s, len(ids))
    if len(pool) < cfg["beam"]:
        pool.append((score, s, ids))
        return
    worst = min(range(len(pool)), key=lambda i: (pool[i][0], i))
    if score > pool[worst][0]:
        pool[worst] = (score, s, ids)


def search(p, prompt, cfg):
    k = cfg["beam"]
    beams, pool = [(0.0, [])], []
    for cur in range(cfg["max_len"]):
        cands = []
        for j, (s, gen) in enumerate(beams):
            lp = log_probs(p, prompt, gen)
            if cur < cfg["min_len"]:
                lp[EOS] = float("-inf")
            ban_ngrams(lp, prompt[1:] + gen, cfg["no_repeat_ngram"])
            cands += [(s + float(lp[v]), j, v) for v in range(len(lp)) if lp[v] > float("-inf")]
        cands.sort(key=lambda c: (-c[0], c[1], c[2]))
        last, nxt = cur + 1 == cfg["max_len"], []
        for i, (s, j, v) in enumerate(cands[:2 * k]):
            if len(nxt) == k:
                break
            ids = beams[j][1] + [v]
            if v == EOS:
                if i < k:
                    offer(cfg, pool, ids, s)
                continue
            if last:
                offer(cfg, pool, ids, s)
            nxt.append((s, ids))
        if last or not nxt:
            break
        beams = nxt
        if len(pool) == k:
            worst = min(h[0] for h in pool)
            at = cfg["max_len"] if cfg.get("exact_stop") else cur + 1
            if cfg["stop_at_first_k"] or lenpen(cfg, nxt[0][0], at) <= worst:
                break
    pool.sort(key=lambda h: -h[0])
    return [{"ids": ids, "logprob": s, "score": score} for score, s, ids in pool[:cfg["nbest"]]]


def main():
    with open(os.path.join(HERE, "gpt.json")) as f:
        case = next(c for c in json.load(f)["cases"] if c["name"] == "bias")
    p = {}
    for name, shape in gen_gpt.param_shapes(True):
        p[name] = torch.tensor(case["params"][name], dtype=torch.float64).reshape(shape)
    out = []
    for cfg in SEARCHES:
        results = [search(p, prompt, cfg) for prompt in PROMPTS]
        for r in results:
            assert all(math.isfinite(h["score"]) for h in r)
        out.append(dict(cfg, prompts=PROMPTS, results=results))
    with open(os.path.join(HERE, "beam.json"), "w") as f:
        json.dump({"generator": "gen_beam.py", "torch": torch.__version__, "model": "gpt.json:bias",
                   "eos": EOS, "searches": out}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
