#!/usr/bin/python3
"""Golden fixture for seqc's s2s-transformer model, from PyTorch.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_s2s_transformer.py
Writes s2s_transformer.json beside this file.

The model: nn.Transformer(d_model, nhead, layers, layers, dim_feedforward,
dropout=0, batch_first=True, norm_first=...) between embeddings scaled by
sqrt(d) plus sinusoidal positions (src_embed, tgt_embed, or one embedding
when shared) and a generator (nn.Linear, or the target embedding's
transpose when tied). Every parameter is moved off its init (layers of
nn.Transformer start as copies, norms at 1 and 0) so that a mixed-up
parameter would show. A batch of three sentence pairs of different lengths,
padded: the source with random ids and a key-padding mask, the target with
random inputs and ignored (-1) outputs. Recorded: the parameters (PyTorch
names), the batch, the logits, the label-smoothed mean cross-entropy, and
the gradient of that loss for every parameter; in double precision.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(20261203)
torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))


def flat(t):
    # 10 significant digits: the tests compare in float
    return [float("%.10g" % v) for v in t.detach().reshape(-1).tolist()]


def sinusoids(T, d):
    pe = torch.zeros(T, d)
    for p in range(T):
        for c in range(0, d, 2):
            angle = p * math.exp(-c / d * math.log(10000.0))
            pe[p, c] = math.sin(angle)
            if c + 1 < d:
                pe[p, c + 1] = math.cos(angle)
    return pe


class S2ST(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.cfg = cfg
        if not cfg["share_embeddings"]:
            self.src_embed = torch.nn.Embedding(cfg["src_vocab"], d)
        self.tgt_embed = torch.nn.Embedding(cfg["tgt_vocab"], d)
        self.transformer = torch.nn.Transformer(
            d, cfg["heads"], cfg["enc_layers"], cfg["dec_layers"], cfg["dim_ff"], dropout=0.0,
            activation=cfg["activation"], batch_first=True, norm_first=cfg["norm_first"],
            layer_norm_eps=cfg["layer_norm_eps"])
        if not cfg["tie_output"]:
            self.generator = torch.nn.Linear(d, cfg["tgt_vocab"])

    def embed(self, table, ids):
        d = self.cfg["d_model"]
        return table(ids) * math.sqrt(d) + sinusoids(ids.shape[1], d)

    def forward(self, src, src_lens, tgt_in):
        S, T = src.shape[1], tgt_in.shape[1]
        pad = torch.arange(S).view(1, S) >= src_lens.view(-1, 1)
        src_table = self.tgt_embed if self.cfg["share_embeddings"] else self.src_embed
        causal = torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        h = self.transformer(self.embed(src_table, src), self.embed(self.tgt_embed, tgt_in),
                             tgt_mask=causal, src_key_padding_mask=pad,
                             memory_key_padding_mask=pad)
        if self.cfg["tie_output"]:
            return h @ self.tgt_embed.weight.t()
        return self.generator(h)


def batch(cfg):
    """Three pairs: sources of 5, 3 and 4 tokens (S = 5), targets of 4, 6
    and 2 positions (T = 6)."""
    src_lens, tgt_lens = [5, 3, 4], [4, 6, 2]
    B, S, T = 3, max(src_lens), max(tgt_lens)
    src = torch.randint(0, cfg["src_vocab"], (B, S))
    tgt_in = torch.randint(0, cfg["tgt_vocab"], (B, T))
    tgt_out = torch.randint(0, cfg["tgt_vocab"], (B, T))
    for b in range(B):
        tgt_out[b, tgt_lens[b]:] = -1
    return B, S, T, src, torch.tensor(src_lens), tgt_in, tgt_out


def case(name, **kw):
    cfg = {"src_vocab": 11, "tgt_vocab": 13, "d_model": 16, "heads": 2, "enc_layers": 2,
           "dec_layers": 2, "dim_ff": 32, "activation": "relu", "norm_first": False,
           "layer_norm_eps": 1e-5, "share_embeddings": False, "tie_output": False,
           "label_smoothing": 0.1}
    cfg.update(kw)
    m = S2ST(cfg)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    m.train()
    B, S, T, src, src_lens, tgt_in, tgt_out = batch(cfg)
    logits = m(src, src_lens, tgt_in)
    loss = F.cross_entropy(logits.reshape(-1, cfg["tgt_vocab"]), tgt_out.reshape(-1),
                           ignore_index=-1, label_smoothing=cfg["label_smoothing"])
    loss.backward()
    return {"name": name, "config": cfg, "B": B, "S": S, "T": T,
            "src": flat(src), "src_lens": flat(src_lens), "tgt_in": flat(tgt_in),
            "tgt_out": flat(tgt_out), "logits": flat(logits), "loss": float(loss),
            "params": {k: flat(v) for k, v in m.named_parameters()},
            "grads": {k: flat(v.grad) for k, v in m.named_parameters()}}


def main():
    cases = [
        case("post_relu_untied"),
        case("pre_gelu_shared_tied", norm_first=True, activation="gelu", src_vocab=13,
             share_embeddings=True, tie_output=True),
    ]
    with open(os.path.join(HERE, "s2s_transformer.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=None)
        f.write("\n")


if __name__ == "__main__":
    main()
