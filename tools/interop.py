#!/usr/bin/python3
"""Weights between PyTorch and nn.h, both ways, through safetensors files.

Run tools/make_interop.sh, which calls this twice around a C program:
  /usr/bin/python3 tools/interop.py torch   writes tests/ref/torch_{mlp,cnn}.safetensors
                                            (PyTorch weights) and the fixed input batch
  build/interop_nnh                         trains the same two networks in nn.h and writes
                                            tests/ref/nnh_{mlp,cnn}.safetensors
  /usr/bin/python3 tools/interop.py outputs loads all four files into PyTorch and writes
                                            tests/ref/interop_ref.safetensors: the input batch
                                            and PyTorch's outputs for each set of weights
tests/test_interop.c then loads the same files into nn.h and compares its outputs.

safetensors is written and read here with json and struct alone (no extra package)."""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

REF = "tests/ref/"


def mlp():
    # nn.h: input(64) dense(32) relu dense(16) relu dense(10): state_dict names 0, 2, 4
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))


def cnn():
    # nn.h: input(1,8,8) conv(4,3,pad 1) batchnorm relu maxpool(2) conv(6,3,pad 1) relu flatten dense(10)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(96, 10))


DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}


def save(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        dt, np_dt = DTYPES[t.dtype]
        b = t.detach().contiguous().numpy().astype(np_dt).tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        np_dt = {"F32": "<f4", "I64": "<i8"}[e["dtype"]]
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[b:end], dtype=np_dt).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out, header.get("__metadata__", {})


def load_into(model, path):
    state, meta = load(path)
    if "nn.arch" in meta:  # an nn.h file: optimizer state would be extra, BN's step count missing
        state = {k: v for k, v in state.items() if not k.startswith("optimizer.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected, unexpected
    assert all(k.endswith("num_batches_tracked") for k in missing), missing
    return model.eval()


def input_batch():
    # five digits from data/digits.csv, scaled to [0, 1]
    rows = np.loadtxt("data/digits.csv", delimiter=",", skiprows=1, max_rows=5, dtype=np.float32)
    return torch.from_numpy(rows[:, :64] / 16.0)


def main():
    torch.manual_seed(1234)
    if sys.argv[1:] == ["torch"]:
        m, c = mlp(), cnn()
        with torch.no_grad():  # non-trivial running statistics, so that they matter
            c[1].running_mean.uniform_(-0.5, 0.5)
            c[1].running_var.uniform_(0.5, 2.0)
            c[1].weight.uniform_(0.5, 1.5)
            c[1].bias.uniform_(-0.2, 0.2)
        save(REF + "torch_mlp.safetensors", m.state_dict())
        save(REF + "torch_cnn.safetensors", c.state_dict())
    elif sys.argv[1:] == ["outputs"]:
        x = input_batch()
        out = {"x": x}
        with torch.no_grad():
            for src in ("torch", "nnh"):
                out[src + "_mlp_out"] = load_into(mlp(), REF + src + "_mlp.safetensors")(x)
                out[src + "_cnn_out"] = load_into(cnn(), REF + src + "_cnn.safetensors")(x.reshape(-1, 1, 8, 8))
        save(REF + "interop_ref.safetensors", out)
    else:
        sys.exit("usage: interop.py torch|outputs")


if __name__ == "__main__":
    main()
