#!/usr/bin/python3
"""The beam search of bench_beam.c in PyTorch, one JSON line per configuration.

The GPT of bench/torch_gpt.py (6 layers, 6 heads, width 384, context 256)
with a vocabulary of 8000, random weights; beam 5, a fixed 40 generated
tokens (eos banned, as min_len = max_len = 40 in seqc), prompts of 8 tokens
fed in one forward pass (prefill), then incremental decoding with the
key/value cache of torch_gpt.py, the cache rows gathered by index_select
after each step (as Hugging Face's beam search). Candidates: the top 2k of
k x V per prompt, vectorized over all prompts; with eos banned the first k
are the next beams, so there is no finished pool to keep.

Run by vs_torch.py beam (or by hand) at PyTorch's best setting here:
2 threads and OMP_WAIT_POLICY=PASSIVE in the environment.

    /usr/bin/python3 bench/torch_beam.py [SECONDS] [CONFIG]
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_gpt  # noqa: E402

VOCAB, BEAM, STEPS, PROMPT, EOS = 8000, 5, 40, 8, 0
CONFIGS = [("beam5-gpt-6x384-v8000-b1", 1), ("beam5-gpt-6x384-v8000-b32", 32)]


def prompts(B):
    ids = [[EOS if t == 0 else 1 + (b * 131 + t * 17) % (VOCAB - 1) for t in range(PROMPT)]
           for b in range(B)]
    return torch.tensor(ids, dtype=torch.long)


@torch.no_grad()
def beam_search(m, x, k=BEAM, steps=STEPS):
    B, P = x.shape
    caches = [dict() for _ in m.h]
    logits = m(x, caches, 0)[:, -1].repeat_interleave(k, 0)  # [B k, V]
    for c in caches:
        c["k"], c["v"] = c["k"].repeat_interleave(k, 0), c["v"].repeat_interleave(k, 0)
    scores = torch.full((B, k), float("-inf"))
    scores[:, 0] = 0  # the k copies of a prompt: only the first is alive
    seqs = torch.empty(B * k, 0, dtype=torch.long)
    base = (torch.arange(B) * k).unsqueeze(1)
    for t in range(steps):
        lp = F.log_softmax(logits, dim=-1)
        lp[:, EOS] = float("-inf")  # min length = steps
        cand = (scores.reshape(-1, 1) + lp).view(B, k * VOCAB)
        top, idx = cand.topk(2 * k, dim=1)
        scores, parent, tok = top[:, :k], idx[:, :k] // VOCAB, idx[:, :k] % VOCAB
        rows = (base + parent).view(-1)
        seqs = torch.cat([seqs[rows], tok.reshape(-1, 1)], dim=1)
        if t + 1 == steps:
            break
        for c in caches:
            c["k"], c["v"] = c["k"].index_select(0, rows), c["v"].index_select(0, rows)
        logits = m(tok.reshape(-1, 1), caches, P + t)[:, -1]
    best = scores.argmax(dim=1)
    return seqs.view(B, k, -1)[torch.arange(B), best], scores.max(dim=1).values


def bench(m, name, B, seconds):
    x = prompts(B)
    beam_search(m, x)  # warm-up, not timed
    sentences, t0 = 0, time.perf_counter()
    while sentences == 0 or time.perf_counter() - t0 < seconds:
        seqs, _ = beam_search(m, x)
        assert seqs.shape == (B, STEPS)
        sentences += B
    sps = sentences / (time.perf_counter() - t0)
    print(json.dumps({"bench": "beam", "config": name, "impl": "pytorch", "vocab": VOCAB, "beam": BEAM,
                      "steps": STEPS, "prompt": PROMPT, "prompts_per_call": B, "sentences": sentences,
                      "sentences_per_s": round(sps, 2), "tokens_per_s": round(sps * STEPS, 1),
                      "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    only = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(2)
    torch.manual_seed(0)
    torch_gpt.VOCAB = VOCAB
    m = torch_gpt.GPT(6, 6, 384, 256).eval()
    for name, B in CONFIGS:
        if not only or only == name:
            bench(m, name, B, seconds)


if __name__ == "__main__":
    main()
