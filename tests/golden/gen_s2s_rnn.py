#!/usr/bin/python3
"""Golden fixtures for seqc's s2s-rnn model, from PyTorch.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_s2s_rnn.py
Writes s2s_rnn.json beside this file.

The model below is written here from the description in models/s2s_rnn.h
(OpenNMT-py's RNNEncoder + InputFeedRNNDecoder + GlobalAttention): the
encoder is nn.GRU / nn.LSTM over pack_padded_sequence, the decoder cells are
nn.GRUCell / nn.LSTMCell, and the module tree gives the parameter names
seqc uses. For each case: the config, the parameters, a padded batch of 3
pairs, every decoder step's top-layer state h_t, attention a_t, attentional
vector h~_t and logits (teacher forced), the mean cross-entropy (label
smoothing as configured) and every parameter's gradient.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20261202)
torch.set_default_dtype(torch.float64)  # references in double, compared in float

B, S, T = 3, 5, 4
SRC_LENS = [3, 5, 2]        # not sorted
TGT_LENS = [4, 2, 3]        # targets beyond are ignored (-1)

CASES = [
    # name, cell, attention, bidir, enc/dec layers, input_feed, bridge, share, tie, smoothing, E, H, V
    ("gru_general", "gru", "general", True, 2, 2, True, True, False, False, 0.1, 4, 6, 7),
    ("lstm_mlp", "lstm", "mlp", True, 2, 2, True, True, False, False, 0.0, 4, 6, 7),
    ("lstm_dot_tied_nobridge", "lstm", "dot", False, 1, 2, True, False, True, True, 0.0, 6, 6, 8),
    ("gru_none_nofeed", "gru", "none", True, 1, 1, False, True, False, False, 0.0, 4, 6, 7),
]


class Model(nn.Module):
    def __init__(self, cell, attention, bidir, enc_layers, dec_layers, input_feed, bridge,
                 share, tie, E, H, Vs, Vt):
        super().__init__()
        self.cell, self.attention, self.bidir = cell, attention, bidir
        self.input_feed, self.bridge, self.H = input_feed, bridge, H
        self.D = 2 if bidir else 1
        self.L = dec_layers
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        cellcls = nn.LSTMCell if cell == "lstm" else nn.GRUCell
        self.encoder = nn.Module()
        self.encoder.embeddings = nn.Embedding(Vs, E)
        self.encoder.rnn = rnn(E, H // self.D, enc_layers, batch_first=True, bidirectional=bidir)
        if bridge:
            self.bridge_h = nn.ModuleList([nn.Linear(H, H) for _ in range(dec_layers)])
            if cell == "lstm":
                self.bridge_c = nn.ModuleList([nn.Linear(H, H) for _ in range(dec_layers)])
        self.decoder = nn.Module()
        self.decoder.embeddings = self.encoder.embeddings if share else nn.Embedding(Vt, E)
        self.decoder.rnn = nn.Module()
        self.decoder.rnn.layers = nn.ModuleList(
            [cellcls((E + (H if input_feed else 0)) if l == 0 else H, H) for l in range(dec_layers)])
        if attention != "none":
            a = self.decoder.attn = nn.Module()
            if attention == "general":
                a.linear_in = nn.Linear(H, H, bias=False)
            if attention == "mlp":
                a.linear_query = nn.Linear(H, H)
                a.linear_context = nn.Linear(H, H, bias=False)
                a.v = nn.Linear(H, 1, bias=False)
            a.linear_out = nn.Linear(2 * H, H, bias=attention == "mlp")
        self.generator = nn.Linear(H, Vt)
        if tie:
            self.generator.weight = self.decoder.embeddings.weight
        for p in self.parameters():
            nn.init.uniform_(p, -0.5, 0.5)

    def encode(self, src, lens):
        x = self.encoder.embeddings(src)
        packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lens), batch_first=True,
                                                   enforce_sorted=False)
        out, st = self.encoder.rnn(packed)
        mem, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=S)
        hn, cn = st if self.cell == "lstm" else (st, None)

        def final(s, l):  # layer l, both directions side by side
            return torch.cat([s[l * self.D + d] for d in range(self.D)], 1)
        h = [None] * self.L
        c = [None] * self.L
        for l in range(self.L):
            if self.bridge:
                h[l] = torch.tanh(self.bridge_h[l](final(hn, l)))
                if self.cell == "lstm":
                    c[l] = torch.tanh(self.bridge_c[l](final(cn, l)))
            else:
                h[l] = torch.zeros(src.shape[0], self.H)
                c[l] = torch.zeros(src.shape[0], self.H)
        return mem, h, c

    def attend(self, ht, mem, pad):
        a = self.decoder.attn
        if self.attention == "dot":
            s = torch.bmm(mem, ht.unsqueeze(2)).squeeze(2)
        elif self.attention == "general":
            s = torch.bmm(mem, a.linear_in(ht).unsqueeze(2)).squeeze(2)
        else:
            wq = a.linear_query(ht).unsqueeze(1)
            uh = a.linear_context(mem)
            s = a.v(torch.tanh(wq + uh)).squeeze(2)
        s = s.masked_fill(pad, float("-inf"))
        p = torch.softmax(s, 1)
        ctx = torch.bmm(p.unsqueeze(1), mem).squeeze(1)
        out = a.linear_out(torch.cat([ctx, ht], 1))
        if self.attention in ("dot", "general"):
            out = torch.tanh(out)
        return p, out

    def forward(self, src, lens, tgt_in):
        mem, h, c = self.encode(src, lens)
        pad = torch.arange(S).unsqueeze(0) >= torch.tensor(lens).unsqueeze(1)
        emb = self.decoder.embeddings(tgt_in)
        feed = torch.zeros(src.shape[0], self.H)
        tops, attns, tildes, logits = [], [], [], []
        for t in range(tgt_in.shape[1]):
            x = torch.cat([emb[:, t], feed], 1) if self.input_feed else emb[:, t]
            for l, cell in enumerate(self.decoder.rnn.layers):
                if self.cell == "lstm":
                    h[l], c[l] = cell(x, (h[l], c[l]))
                else:
                    h[l] = cell(x, h[l])
                x = h[l]
            if self.attention == "none":
                p, out = torch.zeros(src.shape[0], S), x
            else:
                p, out = self.attend(x, mem, pad)
            feed = out
            tops.append(x)
            attns.append(p)
            tildes.append(out)
            logits.append(self.generator(out))
        st = lambda xs: torch.stack(xs, 1)  # noqa: E731
        return st(tops), st(attns), st(tildes), st(logits)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    cases = []
    for (name, cell, attention, bidir, enc_l, dec_l, feed, bridge, share, tie, ls, E, H,
         V) in CASES:
        Vs = V if share else V + 2
        m = Model(cell, attention, bidir, enc_l, dec_l, feed, bridge, share, tie, E, H, Vs, V)
        src = torch.randint(0, Vs, (B, S))
        tgt_in = torch.randint(0, V, (B, T))
        tgt_out = torch.randint(0, V, (B, T))
        for b in range(B):
            tgt_out[b, TGT_LENS[b]:] = -1
        tops, attns, tildes, logits = m(src, SRC_LENS, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, V), tgt_out.reshape(-1), ignore_index=-1,
                               label_smoothing=ls)
        loss.backward()
        cfg = {"arch": "s2s-rnn", "src_vocab": Vs, "tgt_vocab": V, "cell": cell, "embed": E,
               "hidden": H, "enc_layers": enc_l, "dec_layers": dec_l, "bidirectional": bidir,
               "attention": attention, "input_feed": feed, "bridge": bridge, "dropout": 0.0,
               "share_embeddings": share, "tie_output": tie, "label_smoothing": ls}
        cases.append({
            "name": name, "config": cfg, "B": B, "S": S, "T": T,
            "src": src.reshape(-1).tolist(), "src_lens": SRC_LENS,
            "tgt_in": tgt_in.reshape(-1).tolist(), "tgt_out": tgt_out.reshape(-1).tolist(),
            "params": {k: flat(v) for k, v in m.named_parameters()},
            "h_top": flat(tops), "attn": flat(attns), "h_tilde": flat(tildes),
            "logits": flat(logits), "loss": float(loss),
            "grads": {k: flat(v.grad) for k, v in m.named_parameters()},
        })
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "s2s_rnn.json")
    with open(out, "w") as f:
        json.dump({"generator": "gen_s2s_rnn.py", "torch": torch.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
