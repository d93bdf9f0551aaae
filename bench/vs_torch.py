#!/usr/bin/env python3
"""A seqc benchmark side by side with PyTorch: runs bench_KIND and
torch_KIND.py on the same configurations and prints every JSON line plus
one ratio line per measurement both made (seqc's tokens/s divided by
PyTorch's).

    python3 bench/vs_torch.py rnn|gpt|beam|s2s [BUILD_DIR] [--seconds S]

PyTorch runs at its best setting on this machine (2 threads,
OMP_WAIT_POLICY=PASSIVE) through /usr/bin/python3 (Debian's python3-torch);
without it, only seqc's lines are printed. When PyTorch's line gives
flops_per_iter and ms_per_iter (gpt, s2s), the ratio line adds its MFU against
the sgemm peak of seqc's machine line.
"""
import json
import os
import subprocess
import sys


def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    args = sys.argv[1:]
    seconds = "5"
    if "--seconds" in args:
        i = args.index("--seconds")
        seconds = args[i + 1]
        del args[i:i + 2]
    if not args or args[0] not in ("rnn", "gpt", "beam", "s2s"):
        sys.exit(__doc__)
    kind = args[0]
    build = args[1] if len(args) > 1 else "build"
    here = os.path.dirname(os.path.abspath(__file__))
    seqc = run([os.path.join(build, "bench", "bench_" + kind), "--seconds", seconds])
    for line in seqc:
        print(json.dumps(line))
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS="2")
    try:
        torch = run(["/usr/bin/python3", os.path.join(here, "torch_%s.py" % kind), seconds], env)
    except (OSError, subprocess.CalledProcessError) as e:
        print(json.dumps({"bench": kind + "_vs_torch", "pytorch": "unavailable", "why": str(e)[:200]}))
        return
    ours = {(l["bench"], l["config"]): l for l in seqc if "config" in l}
    peak = next((l["sgemm_peak_gflops"] for l in seqc if l.get("bench") == "machine"), None)
    for line in torch:
        print(json.dumps(line))
        mine = ours.get((line["bench"], line["config"]))
        if mine:
            vs = {"bench": kind + "_vs_torch", "what": line["bench"], "config": line["config"],
                  "seqc_tokens_per_s": mine["tokens_per_s"], "pytorch_tokens_per_s": line["tokens_per_s"],
                  "ratio": round(mine["tokens_per_s"] / line["tokens_per_s"], 3)}
            if peak and "mfu" in mine and "flops_per_iter" in line and "ms_per_iter" in line:
                vs["seqc_mfu"] = mine["mfu"]
                vs["pytorch_mfu"] = round(line["flops_per_iter"] / line["ms_per_iter"] / 1e6 / peak, 3)
            print(json.dumps(vs))


if __name__ == "__main__":
    main()
