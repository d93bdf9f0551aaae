#!/usr/bin/python3
"""Safetensors fixtures for tests/seq_io, and the reverse check.

Run by hand with Debian's python3, which has torch (not the python3 on PATH):

    /usr/bin/python3 tests/golden/gen_safetensors.py
        writes tests/golden/safetensors/*.safetensors
    /usr/bin/python3 tests/golden/gen_safetensors.py --check FILE [--formula]
        reads FILE (written by seqc) with a strict reader of the format and
        makes torch tensors of it; with --formula also checks that tensor k
        (in data order) holds value(k, i), as test_st_roundtrip writes it
        to <build>/tests/seq_io/written.safetensors.

The Python `safetensors` package is not installed on this machine, so the
files are written (and --check reads them) with struct and json, byte for
byte as the format says: an 8-byte little-endian header length N; N bytes of
UTF-8 JSON mapping names to {"dtype", "shape", "data_offsets"} plus an
optional "__metadata__" object of strings, padded with spaces to a multiple
of 8; then the data, little-endian, each tensor's bytes at
data_offsets = [begin, end) relative to the start of the data, the tensors
tiling the data without holes or overlaps. Like the reference writer, the
data is ordered by element size (largest first), then by name. When the
package is importable, --check also loads FILE with
safetensors.torch.load_file and compares.
"""
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "safetensors")

DTYPE_NAME = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
RAW_VIEW = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}


def value(k, i):
    """Tensor k's element i in the F32 fixtures: exact in float32 and the
    same formula as the C tests use."""
    return float(((i * 7 + k * 3) % 23) - 11) / 8.0


def formula_tensor(k, shape):
    n = 1
    for d in shape:
        n *= d
    return torch.tensor([value(k, i) for i in range(n)], dtype=torch.float32).reshape(shape)


def raw_bytes(t):
    flat = t.contiguous().reshape(-1)
    return flat.view(RAW_VIEW[t.dtype]).numpy().astype("<i%d" % t.element_size()).tobytes()


def write(path, tensors, metadata=None, data_order=None, key_order=None):
    """tensors: name -> torch tensor. data_order: names in the order of
    their bytes (default: the reference writer's). key_order: order of the
    JSON keys, "__metadata__" included (default: metadata, then data
    order)."""
    if data_order is None:
        data_order = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    entries, chunks, off = {}, [], 0
    for name in data_order:
        t = tensors[name]
        b = raw_bytes(t)
        entries[name] = {"dtype": DTYPE_NAME[t.dtype], "shape": list(t.shape),
                         "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    if metadata is not None:
        entries["__metadata__"] = metadata
    if key_order is None:
        key_order = (["__metadata__"] if metadata is not None else []) + list(data_order)
    header = {k: entries[k] for k in key_order}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    print("wrote", os.path.relpath(path, HERE), os.path.getsize(path), "bytes")


def half_patterns():
    """16-bit patterns covering zeros, subnormals, every exponent, the
    largest finite, infinities and NaNs of both signs, plus random ones."""
    pats = [0x0000, 0x8000, 0x0001, 0x0002, 0x0155, 0x03FF, 0x8001, 0x83FF,
            0x7C00, 0xFC00, 0x7C01, 0x7E00, 0x7FFF, 0xFE00, 0xFFFF, 0x7BFF, 0xFBFF]
    for e in range(32):
        for m in (0, 1, 0x200, 0x3FF):
            pats += [e << 10 | m, 0x8000 | e << 10 | m]
    g = torch.Generator().manual_seed(1234)
    pats += torch.randint(0, 65536, (200,), generator=g).tolist()
    return pats


def from_patterns(pats, dtype):
    signed = [p - 65536 if p >= 32768 else p for p in pats]
    return torch.tensor(signed, dtype=torch.int16).view(dtype)


def generate():
    os.makedirs(OUT, exist_ok=True)
    config = json.dumps({"n_layer": 2, "name": "caf\u00e9 \"q\""})
    meta = {"format": "pt", "config": config,
            "note": "na\u00efve \u2603 \u2014 \"quoted\" \\ back\nslash"}
    shapes = {"embed.weight": [5, 4], "h.0.ln.bias": [4], "h.0.mlp.w": [2, 3, 4],
              "conv.w": [2, 3, 2, 2]}
    # k in value(k, i) is the index in the reference writer's data order,
    # which is by name here (all F32)
    tensors = {n: formula_tensor(k, shapes[n]) for k, n in enumerate(sorted(shapes))}
    write(os.path.join(OUT, "f32_meta.safetensors"), tensors, meta)

    for name, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        h = from_patterns(half_patterns(), dtype)
        # "ref" is torch's own conversion, which the C reader must match bit for bit
        write(os.path.join(OUT, name + ".safetensors"), {"h": h, "ref": h.float()})

    write(os.path.join(OUT, "scalar.safetensors"),
          {"s": torch.tensor(3.25), "v": torch.tensor([1.0, 2.0, 3.0])})

    # data order zeta, alpha, mid; JSON keys alphabetical with the
    # metadata last: the reader must go by data_offsets, not key order
    order = ["zeta", "alpha", "mid"]
    shapes = {"zeta": [2], "alpha": [3], "mid": [2, 2]}
    tensors = {n: formula_tensor(k, shapes[n]) for k, n in enumerate(order)}
    write(os.path.join(OUT, "order.safetensors"), tensors, {"k": "v"}, data_order=order,
          key_order=["alpha", "mid", "zeta", "__metadata__"])


def strict_read(path):
    """Reads a safetensors file checking everything the format requires.
    Returns (names in data order, {name: torch tensor}, metadata)."""
    data = open(path, "rb").read()
    assert len(data) >= 8, "shorter than 8 bytes"
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), "header longer than the file"
    text = data[8:8 + n]
    assert text[:1] == b"{", "header does not begin with {"
    body = text.rstrip(b" ")
    assert n % 8 == 0, "header length %d is not a multiple of 8" % n
    header = json.loads(body.decode("utf-8"), object_pairs_hook=no_duplicates)
    meta = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    buf = data[8 + n:]
    items = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    pos, out = 0, {}
    for name, e in items:
        assert set(e) == {"dtype", "shape", "data_offsets"}, e
        assert e["dtype"] == "F32", e["dtype"]
        begin, end = e["data_offsets"]
        assert begin == pos, "hole or overlap at %s" % name
        numel = 1
        for d in e["shape"]:
            numel *= d
        assert end - begin == 4 * numel, "size of %s" % name
        out[name] = torch.frombuffer(bytearray(buf[begin:end]), dtype=torch.float32).reshape(e["shape"])
        pos = end
    assert pos == len(buf), "data not covered"
    return [k for k, _ in items], out, meta


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "duplicate keys"
    return dict(pairs)


def check(path, formula):
    names, tensors, meta = strict_read(path)
    for k, name in enumerate(names):
        t = tensors[name]
        print("%-24s %-14s sum %.6f" % (name, list(t.shape), float(t.double().sum())))
        if formula:
            assert torch.equal(t, formula_tensor(k, list(t.shape))), "values of " + name
    for key, v in meta.items():
        print("meta %s = %r" % (key, v))
    try:
        from safetensors.torch import load_file
    except ImportError:
        print("(the safetensors package is not installed: checked with the strict reader only)")
    else:
        loaded = load_file(path)
        assert set(loaded) == set(tensors)
        for name in tensors:
            assert torch.equal(loaded[name], tensors[name]), name
        print("safetensors.torch.load_file agrees")
    print("OK:", len(names), "tensors,", len(meta), "metadata entries", "(values checked)" if formula else "")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--check":
        check(sys.argv[2], "--formula" in sys.argv[3:])
    else:
        generate()
