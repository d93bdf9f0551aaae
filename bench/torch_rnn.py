#!/usr/bin/python3
"""The configurations of bench_rnn.c in PyTorch, one JSON line each.

Run by vs_torch.py rnn (or by hand) with Debian's python3-torch, at its
best setting here: 2 threads and OMP_WAIT_POLICY=PASSIVE in the
environment. Training = forward + backward + Adam step; sampling = one
token at a time at batch 1 under no_grad with the state carried.
"""
import json
import sys
import time

import torch

CONFIGS = [
    ("lstm-2x128-charrnn", "lstm", 128, 2, 50, 50, False),
    ("lstm-2x512", "lstm", 512, 2, 100, 32, False),
    ("gru-2x512", "gru", 512, 2, 100, 32, False),
    ("rnn-2x512", "rnn_tanh", 512, 2, 100, 32, False),
    ("sample-lstm-2x512", "lstm", 512, 2, 1, 1, True),
]
VOCAB = 65


class LM(torch.nn.Module):
    def __init__(self, cell, hidden, layers):
        super().__init__()
        self.encoder = torch.nn.Embedding(VOCAB, hidden)
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn_tanh": torch.nn.RNN}[cell]
        self.rnn = rnn(hidden, hidden, layers, batch_first=True)
        self.decoder = torch.nn.Linear(hidden, VOCAB)

    def forward(self, x, state=None):
        y, state = self.rnn(self.encoder(x), state)
        return self.decoder(y), state


def train(name, cell, hidden, layers, seq, batch, seconds):
    m = LM(cell, hidden, layers)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.arange(batch * seq).reshape(batch, seq) * 7 % VOCAB
    y = (torch.arange(batch * seq).reshape(batch, seq) * 11 + 3) % VOCAB
    best, steps, end = 1e30, 0, time.time() + seconds
    while steps < 3 or time.time() < end:
        t0 = time.perf_counter()
        opt.zero_grad()
        logits, _ = m(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if steps > 0:
            best = min(best, dt)
        steps += 1
    print(json.dumps({"bench": "rnn_train", "config": name, "impl": "pytorch",
                      "tokens_per_s": round(batch * seq / best), "seconds_per_step": best,
                      "steps": steps, "threads": torch.get_num_threads(),
                      "torch": torch.__version__}), flush=True)


@torch.no_grad()
def sample(name, cell, hidden, layers, seconds):
    m = LM(cell, hidden, layers).eval()
    tok = torch.tensor([[1]])
    state = None
    for _ in range(50):
        logits, state = m(tok, state)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        logits, state = m(tok, state)
        tok = logits[:, -1].argmax(-1, keepdim=True)
        n += 1
    print(json.dumps({"bench": "rnn_sample", "config": name, "impl": "pytorch",
                      "tokens_per_s": round(n / (time.perf_counter() - t0)),
                      "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    only = sys.argv[2] if len(sys.argv) > 2 else None
    torch.set_num_threads(2)
    for name, cell, hidden, layers, seq, batch, sampling in CONFIGS:
        if only and name != only:
            continue
        if sampling:
            sample(name, cell, hidden, layers, seconds)
        else:
            train(name, cell, hidden, layers, seq, batch, seconds)


if __name__ == "__main__":
    main()
