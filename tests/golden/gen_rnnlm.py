#!/usr/bin/python3
"""Golden fixture for seqc's rnnlm, from PyTorch.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_rnnlm.py
Writes rnnlm.json: for an LSTM and a GRU language model (embedding, two
layers, linear head; one case with the head tied to the embedding), the
parameters under seqc's names, inputs and targets [B, T] (one target
ignored with -1), the mean cross-entropy and every parameter gradient.
"""
import json
import os

import torch

torch.manual_seed(7)
torch.set_default_dtype(torch.float64)
V, E, H, L, B, T = 7, 5, 6, 2, 2, 4


class LM(torch.nn.Module):
    def __init__(self, cell, embed, tie):
        super().__init__()
        self.encoder = torch.nn.Embedding(V, embed)
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN}[cell]
        self.rnn = rnn(embed, H, L, batch_first=True)
        self.decoder = torch.nn.Linear(H, V)
        if tie:
            self.decoder.weight = self.encoder.weight

    def forward(self, x, state=None):
        y, state = self.rnn(self.encoder(x), state)
        return self.decoder(y), state


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def main():
    cases = []
    for name, cell, embed, tie in [("lstm", "lstm", E, False), ("gru", "gru", E, False),
                                   ("lstm_tied", "lstm", H, True), ("rnn_tanh", "rnn_tanh", E, False)]:
        m = LM(cell, embed, tie)
        x = torch.randint(0, V, (B, T))
        y = torch.randint(0, V, (B, T))
        y[1, 2] = -1
        logits, _ = m(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1),
                                                 ignore_index=-1)
        loss.backward()
        params = {k: flat(v) for k, v in m.named_parameters()}
        grads = {k: flat(v.grad) for k, v in m.named_parameters()}
        cases.append({"name": name, "cell": cell, "vocab": V, "embed": embed, "hidden": H,
                      "layers": L, "tie": tie, "B": B, "T": T,
                      "inputs": x.reshape(-1).tolist(), "targets": y.reshape(-1).tolist(),
                      "loss": float(loss), "params": params, "grads": grads})
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rnnlm.json")
    with open(out, "w") as f:
        json.dump({"generator": "gen_rnnlm.py", "torch": torch.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
