#!/usr/bin/python3
"""The configurations of bench_s2s.c in PyTorch, one JSON line each.

The model: nn.Transformer(batch_first=True), 3 + 3 post-norm ReLU layers,
width 256, 4 heads, ff 1024, no dropout, with source and target embeddings
(vocabularies of 8000) scaled by sqrt(d) plus sinusoidal positions, and a
generator nn.Linear(256, 8000); random weights.

- s2s-train-3x3-d256-v8000: batches of 64 pairs of 32 + 32 random ids, no
  padding, causal target mask, cross-entropy with label smoothing 0.1,
  Adam (defaults), no clipping; the median time per step after the first
  two (warm-up, as bench_s2s.c).
- beam5-s2s-3x3-d256-v8000-b1 / -b32: beam 5, a fixed 40 generated tokens
  (eos banned), 1 or 32 sources of 32 random ids per call. The sources go
  through transformer.encoder once; every decoder layer's cross-attention
  keys and values are projected once per source and shared by its 5 beams
  (a [B, H, k, dh] x [B, H, dh, S] product, i.e. expanded without a copy);
  the decoder layers are stepped by hand with their modules' weights
  (self-attention q, k, v from in_proj_weight, keys and values cached per
  layer and gathered with index_select after every step, as Hugging Face
  does); the top 2k of k x V per source, vectorized over sources, as
  torch_beam.py. `--check` compares those steps with the full forward.

Model FLOPs of a training step: the formula of bench_s2s.c (6 x matrix
parameters x the tokens they multiply, plus 12 d Tq Tk per attention layer
and sequence).

Run by vs_torch.py s2s (or by hand) at PyTorch's best setting here:
2 threads and OMP_WAIT_POLICY=PASSIVE in the environment.

    /usr/bin/python3 bench/torch_s2s.py [SECONDS] [CONFIG]
    /usr/bin/python3 bench/torch_s2s.py --check
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

VOCAB, D, HEADS, LAYERS, FF, LEN, BATCH = 8000, 256, 4, 3, 1024, 32, 64
BEAM, STEPS, BOS, EOS = 5, 40, 1, 2
TRAIN = "s2s-train-3x3-d256-v8000"
BEAMS = [("beam5-s2s-3x3-d256-v8000-b1", 1), ("beam5-s2s-3x3-d256-v8000-b32", 32)]


class S2S(torch.nn.Module):
    def __init__(self, max_len=256):
        super().__init__()
        self.src_embed = torch.nn.Embedding(VOCAB, D)
        self.tgt_embed = torch.nn.Embedding(VOCAB, D)
        self.transformer = torch.nn.Transformer(D, HEADS, LAYERS, LAYERS, FF, dropout=0.0,
                                                batch_first=True)
        self.generator = torch.nn.Linear(D, VOCAB)
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, D, 2) * (-math.log(10000.0) / D))
        pe = torch.zeros(max_len, D)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def embed(self, table, ids, pos0=0):
        return table(ids) * math.sqrt(D) + self.pe[pos0:pos0 + ids.size(1)]

    def forward(self, src, tgt_in):
        mask = torch.nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1))
        h = self.transformer(self.embed(self.src_embed, src), self.embed(self.tgt_embed, tgt_in),
                             tgt_mask=mask)
        return self.generator(h)


def flops_per_step(B, S, T):
    """bench_s2s.c's formula."""
    d, L = D, LAYERS
    per_src = L * (4 * d * d + 2 * d * FF) + L * 2 * d * d
    per_tgt = L * (6 * d * d + 2 * d * FF) + d * VOCAB
    attn = 12 * d * L * (S * S + T * T + T * S)
    return B * (6 * (S * per_src + T * per_tgt) + attn)


def train(seconds):
    torch.manual_seed(0)
    m = S2S()
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    src = torch.randint(0, VOCAB, (BATCH, LEN))
    out = torch.randint(0, VOCAB, (BATCH, LEN))
    tgt_in = torch.cat([torch.full((BATCH, 1), BOS), out[:, :-1]], dim=1)
    times, end = [], time.time() + seconds
    while len(times) < 5 or time.time() < end:
        t0 = time.perf_counter()
        logits = m(src, tgt_in)
        loss = F.cross_entropy(logits.view(-1, VOCAB), out.view(-1), label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    times = sorted(times[2:])
    med = times[len(times) // 2]
    print(json.dumps({"bench": "s2s_train", "config": TRAIN, "impl": "pytorch",
                      "params": sum(p.numel() for p in m.parameters()),
                      "ms_per_iter": round(1e3 * med, 2), "ms_best": round(1e3 * times[0], 2),
                      "tokens_per_s": round(BATCH * LEN / med),
                      "flops_per_iter": flops_per_step(BATCH, LEN, LEN), "steps": len(times) + 2,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


# ---- incremental decoding ----

def split_heads(t):
    """[N, n, d] -> [N, H, n, dh]"""
    return t.view(t.size(0), -1, HEADS, D // HEADS).transpose(1, 2)


@torch.no_grad()
def encode(m, src):
    """Every decoder layer's cross-attention keys and values [B, H, S, dh], once per source."""
    memory = m.transformer.encoder(m.embed(m.src_embed, src))
    cross = []
    for layer in m.transformer.decoder.layers:
        a = layer.multihead_attn
        k, v = F.linear(memory, a.in_proj_weight[D:], a.in_proj_bias[D:]).split(D, dim=-1)
        cross.append((split_heads(k), split_heads(v)))
    return cross


@torch.no_grad()
def step(m, tokens, pos, caches, cross, k):
    """Logits [N, V] of rows N = B k (row b k + j: source b) fed tokens [N] at pos."""
    N, scale = tokens.size(0), 1.0 / math.sqrt(D // HEADS)
    x = m.embed(m.tgt_embed, tokens.view(N, 1), pos).view(N, D)
    for layer, c, (ck, cv) in zip(m.transformer.decoder.layers, caches, cross):
        sa = layer.self_attn
        q, kk, vv = F.linear(x, sa.in_proj_weight, sa.in_proj_bias).view(N, 3, HEADS, -1).unbind(1)
        kk, vv = kk.unsqueeze(2), vv.unsqueeze(2)  # [N, H, 1, dh]
        if "k" in c:
            kk, vv = torch.cat([c["k"], kk], dim=2), torch.cat([c["v"], vv], dim=2)
        c["k"], c["v"] = kk, vv
        att = torch.softmax((q.unsqueeze(2) @ kk.transpose(-2, -1)) * scale, dim=-1)
        y = (att @ vv).view(N, D)
        x = layer.norm1(x + F.linear(y, sa.out_proj.weight, sa.out_proj.bias))
        ca = layer.multihead_attn
        q = F.linear(x, ca.in_proj_weight[:D], ca.in_proj_bias[:D])
        q = q.view(-1, k, HEADS, D // HEADS).transpose(1, 2)  # [B, H, k, dh]
        att = torch.softmax((q @ ck.transpose(-2, -1)) * scale, dim=-1)  # [B, H, k, S]
        y = (att @ cv).transpose(1, 2).reshape(N, D)
        x = layer.norm2(x + F.linear(y, ca.out_proj.weight, ca.out_proj.bias))
        x = layer.norm3(x + layer.linear2(F.relu(layer.linear1(x))))
    return m.generator(m.transformer.decoder.norm(x))


@torch.no_grad()
def beam_search(m, src, k=BEAM, steps=STEPS):
    B = src.size(0)
    cross = encode(m, src)
    caches = [dict() for _ in cross]
    tok = torch.full((B * k,), BOS, dtype=torch.long)
    scores = torch.full((B, k), float("-inf"))
    scores[:, 0] = 0  # the k copies of a source: only the first is alive
    seqs = torch.empty(B * k, 0, dtype=torch.long)
    base = (torch.arange(B) * k).unsqueeze(1)
    for t in range(steps):
        lp = F.log_softmax(step(m, tok, t, caches, cross, k), dim=-1)
        lp[:, EOS] = float("-inf")  # min length = steps
        cand = (scores.reshape(-1, 1) + lp).view(B, k * VOCAB)
        top, idx = cand.topk(2 * k, dim=1)
        scores, parent, nxt = top[:, :k], idx[:, :k] // VOCAB, idx[:, :k] % VOCAB
        rows = (base + parent).view(-1)
        seqs = torch.cat([seqs[rows], nxt.reshape(-1, 1)], dim=1)
        if t + 1 == steps:
            break
        for c in caches:
            c["k"], c["v"] = c["k"].index_select(0, rows), c["v"].index_select(0, rows)
        tok = nxt.reshape(-1)
    best = scores.argmax(dim=1)
    return seqs.view(B, k, -1)[torch.arange(B), best], scores.max(dim=1).values


def bench_beam(m, name, B, seconds):
    src = torch.randint(0, VOCAB, (B, LEN))
    beam_search(m, src)  # warm-up, not timed
    sentences, t0 = 0, time.perf_counter()
    while sentences == 0 or time.perf_counter() - t0 < seconds:
        seqs, _ = beam_search(m, src)
        assert seqs.shape == (B, STEPS)
        sentences += B
    sps = sentences / (time.perf_counter() - t0)
    print(json.dumps({"bench": "s2s_beam", "config": name, "impl": "pytorch", "vocab": VOCAB,
                      "beam": BEAM, "steps": STEPS, "src_len": LEN, "sources_per_call": B,
                      "sentences": sentences, "sentences_per_s": round(sps, 2),
                      "tokens_per_s": round(sps * STEPS, 1), "threads": torch.get_num_threads(),
                      "torch": torch.__version__}), flush=True)


@torch.no_grad()
def check():
    """The hand-written steps against the full forward: same logits."""
    torch.manual_seed(0)
    m = S2S().eval()
    B, k, T = 3, 2, 7
    src = torch.randint(0, VOCAB, (B, LEN))
    tgt = torch.randint(0, VOCAB, (B * k, T))
    full = m(src.repeat_interleave(k, 0), tgt)
    cross, caches = encode(m, src), [dict() for _ in range(LAYERS)]
    steps = torch.stack([step(m, tgt[:, t], t, caches, cross, k) for t in range(T)], dim=1)
    err = (full - steps).abs().max().item()
    print(json.dumps({"check": "steps_vs_forward", "max_abs_diff": err}))
    assert err < 1e-4, err


def main():
    if sys.argv[1:] == ["--check"]:
        return check()
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    only = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(2)
    if not only or only == TRAIN:
        train(seconds)
    torch.manual_seed(0)
    m = S2S().eval()
    for name, B in BEAMS:
        if not only or only == name:
            bench_beam(m, name, B, seconds)


if __name__ == "__main__":
    main()
