#!/usr/bin/python3
"""Golden fixtures for seqc's recurrent layers, from PyTorch.

Run by hand with Debian's python3-torch:  /usr/bin/python3 gen_rnn.py
Writes rnn.json and rnn_packed.json (padded batches through
pack_padded_sequence) beside this file. For each case: the module's parameters
(PyTorch names), the input x [B, T, I], initial states [L*D, B, H], the
upstream gradients dy, dh_n, dc_n of the loss
    L = sum(y * dy) + sum(h_n * dh_n) + sum(c_n * dc_n)
and the outputs and every gradient PyTorch computes.
"""
import json
import os

import torch

torch.manual_seed(20261122)
torch.set_default_dtype(torch.float64)  # references in double, compared in float

CASES = [
    # name, cell, nonlinearity, layers, bidirectional, with initial state
    ("rnn_tanh_2l", "rnn", "tanh", 2, False, True),
    ("rnn_relu_2l", "rnn", "relu", 2, False, True),
    ("lstm_2l", "lstm", None, 2, False, True),
    ("gru_2l", "gru", None, 2, False, True),
    ("lstm_2l_zero_state", "lstm", None, 2, False, False),
    ("gru_bidir_2l", "gru", None, 2, True, True),
    ("lstm_bidir_1l", "lstm", None, 1, True, True),
]
B, T, I, H = 2, 5, 3, 4


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make(cell, nonlinearity, layers, bidir):
    kw = dict(input_size=I, hidden_size=H, num_layers=layers, batch_first=True,
              bidirectional=bidir)
    if cell == "rnn":
        return torch.nn.RNN(nonlinearity=nonlinearity, **kw)
    return (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(**kw)


def main():
    cases = []
    for name, cell, nl, layers, bidir, with_state in CASES:
        m = make(cell, nl, layers, bidir)
        D = 2 if bidir else 1
        x = torch.randn(B, T, I, requires_grad=True)
        h0 = torch.randn(layers * D, B, H, requires_grad=True)
        c0 = torch.randn(layers * D, B, H, requires_grad=True)
        if cell == "lstm":
            y, (hn, cn) = m(x, (h0, c0)) if with_state else m(x)
        else:
            y, hn = m(x, h0) if with_state else m(x)
            cn = None
        dy = torch.randn_like(y)
        dhn = torch.randn_like(hn)
        loss = (y * dy).sum() + (hn * dhn).sum()
        case = {"name": name, "cell": cell if cell != "rnn" else "rnn_" + nl,
                "layers": layers, "bidirectional": bidir, "with_state": with_state,
                "B": B, "T": T, "input_size": I, "hidden_size": H,
                "x": flat(x), "dy": flat(dy), "dh_n": flat(dhn)}
        if cn is not None:
            dcn = torch.randn_like(cn)
            loss = loss + (cn * dcn).sum()
            case["dc_n"] = flat(dcn)
        loss.backward()
        case["params"] = {k: flat(v) for k, v in m.named_parameters()}
        case["y"] = flat(y)
        case["h_n"] = flat(hn)
        grads = {k: flat(v.grad) for k, v in m.named_parameters()}
        grads["x"] = flat(x.grad)
        if with_state:
            case["h0"] = flat(h0)
            grads["h0"] = flat(h0.grad)
            if cell == "lstm":
                case["c0"] = flat(c0)
                grads["c0"] = flat(c0.grad)
        if cn is not None:
            case["c_n"] = flat(cn)
        case["grads"] = grads
        cases.append(case)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rnn.json")
    with open(out, "w") as f:
        json.dump({"generator": "gen_rnn.py", "torch": torch.__version__, "cases": cases}, f)
        f.write("\n")
    packed()


# Padded batches through pack_padded_sequence: bidirectional 2-layer GRU and
# LSTM, rows of lengths 5, 3 and 1 (not sorted), with and without initial
# states. Outputs at padded positions are 0 and get no gradient.
PACKED_CASES = [
    ("gru_bidir_2l_packed", "gru", True),
    ("lstm_bidir_2l_packed", "lstm", True),
    ("lstm_bidir_2l_packed_zero_state", "lstm", False),
]
PB, PLENS = 3, [3, 5, 1]


def packed():
    pack = torch.nn.utils.rnn.pack_padded_sequence
    unpack = torch.nn.utils.rnn.pad_packed_sequence
    cases = []
    for name, cell, with_state in PACKED_CASES:
        m = make(cell, None, 2, True)
        x = torch.randn(PB, T, I, requires_grad=True)
        h0 = torch.randn(4, PB, H, requires_grad=True)
        c0 = torch.randn(4, PB, H, requires_grad=True)
        px = pack(x, torch.tensor(PLENS), batch_first=True, enforce_sorted=False)
        state = ((h0, c0) if cell == "lstm" else h0) if with_state else None
        py, st = m(px, state)
        y, _ = unpack(py, batch_first=True, total_length=T)
        hn, cn = st if cell == "lstm" else (st, None)
        dy, dhn = torch.randn_like(y), torch.randn_like(hn)
        loss = (y * dy).sum() + (hn * dhn).sum()
        case = {"name": name, "cell": cell, "layers": 2, "bidirectional": True,
                "with_state": with_state, "B": PB, "T": T, "input_size": I,
                "hidden_size": H, "lens": PLENS, "x": flat(x), "dy": flat(dy),
                "dh_n": flat(dhn)}
        if cn is not None:
            dcn = torch.randn_like(cn)
            loss = loss + (cn * dcn).sum()
            case["dc_n"], case["c_n"] = flat(dcn), flat(cn)
        loss.backward()
        case["params"] = {k: flat(v) for k, v in m.named_parameters()}
        case["y"], case["h_n"] = flat(y), flat(hn)
        grads = {k: flat(v.grad) for k, v in m.named_parameters()}
        grads["x"] = flat(x.grad)
        if with_state:
            case["h0"], grads["h0"] = flat(h0), flat(h0.grad)
            if cell == "lstm":
                case["c0"], grads["c0"] = flat(c0), flat(c0.grad)
        case["grads"] = grads
        cases.append(case)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rnn_packed.json")
    with open(out, "w") as f:
        json.dump({"generator": "gen_rnn.py", "torch": torch.__version__, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
