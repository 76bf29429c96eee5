#!/usr/bin/python3
"""Weights between PyTorch and nn.h, both ways, through safetensors files.

Run tools/make_interop.sh, which calls this twice around a C program:
  /usr/bin/python3 tools/interop.py torch   writes tests/ref/torch_{mlp,cnn,gpt,lstm}.safetensors
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


class PosEmb(nn.Module):  # nn.h's pos_embedding: a learned (T, C) table added
    def __init__(self, t, c):
        super().__init__()
        self.weight = nn.Parameter(0.1 * torch.randn(t, c))

    def forward(self, x):
        return x + self.weight


class Attn(nn.Module):  # nn.h's attention: nanoGPT's CausalSelfAttention with biases
    def __init__(self, c, h):
        super().__init__()
        self.c_attn, self.c_proj, self.h = nn.Linear(c, 3 * c), nn.Linear(c, c), h

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2))
        a = (q @ k.transpose(-2, -1)) / (C // self.h) ** 0.5
        a = a.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
        return self.c_proj((torch.softmax(a, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C))


class Numbered(nn.Module):
    """nn.h layer i as the submodule named str(i - 1), so that state_dict names match nn.h's files"""
    def __init__(self, mods):
        super().__init__()
        for k, mod in mods.items():
            self.add_module(str(k), mod)

    def m(self, k):
        return self._modules[str(k)]


class GPT(Numbered):
    # nn.h: input_seq(6 ids) embedding(11, 8) pos_embedding layernorm attention(2 heads) add
    #       layernorm dense(16) gelu dense(8) add layernorm tied_dense(embedding)
    def __init__(self):
        super().__init__({0: nn.Embedding(11, 8), 1: PosEmb(6, 8), 2: nn.LayerNorm(8), 3: Attn(8, 2), 5: nn.LayerNorm(8),
                          6: nn.Linear(8, 16), 8: nn.Linear(16, 8), 10: nn.LayerNorm(8)})

    def forward(self, idx):
        h = self.m(1)(self.m(0)(idx))
        h = h + self.m(3)(self.m(2)(h))
        h = h + self.m(8)(torch.nn.functional.gelu(self.m(6)(self.m(5)(h))))
        return self.m(10)(h) @ self.m(0).weight.t()


class LSTMLM(Numbered):
    # nn.h: input_seq(6 ids) embedding(11, 6) lstm(8, all steps) dense(11)
    def __init__(self):
        super().__init__({0: nn.Embedding(11, 6), 1: nn.LSTM(6, 8, batch_first=True), 2: nn.Linear(8, 11)})

    def forward(self, idx):
        return self.m(2)(self.m(1)(self.m(0)(idx))[0])


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
        save(REF + "torch_gpt.safetensors", GPT().state_dict())
        save(REF + "torch_lstm.safetensors", LSTMLM().state_dict())
    elif sys.argv[1:] == ["outputs"]:
        x = input_batch()
        out = {"x": x}
        with torch.no_grad():
            for src in ("torch", "nnh"):
                out[src + "_mlp_out"] = load_into(mlp(), REF + src + "_mlp.safetensors")(x)
                out[src + "_cnn_out"] = load_into(cnn(), REF + src + "_cnn.safetensors")(x.reshape(-1, 1, 8, 8))
            ids = torch.randint(0, 11, (5, 6), generator=torch.Generator().manual_seed(7))
            out["ids"] = ids.float()
            for src in ("torch", "nnh"):
                out[src + "_gpt_out"] = load_into(GPT(), REF + src + "_gpt.safetensors")(ids)
                out[src + "_lstm_out"] = load_into(LSTMLM(), REF + src + "_lstm.safetensors")(ids)
        save(REF + "interop_ref.safetensors", out)
    else:
        sys.exit("usage: interop.py torch|outputs")


if __name__ == "__main__":
    main()
