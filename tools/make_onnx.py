#!/usr/bin/python3
"""Regenerates tests/ref/onnx/: small PyTorch models exported with torch.onnx.export (Debian's
python3-torch and python3-onnx), each with an input and PyTorch's output for it as .npy files.
test_onnx loads every model with nn_onnx_load and compares its nn_predict output with PyTorch's.

    /usr/bin/python3 tools/make_onnx.py        (run from the repository root)
"""
import os, io, math
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

OUT = "tests/ref/onnx"
torch.manual_seed(1234)


def save(name, model, x, opset, **kw):
    model.eval()
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(OUT, name + ".onnx"), opset_version=opset,
                      input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, **kw)
    np.save(os.path.join(OUT, name + "_x.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, name + "_y.npy"), y.numpy().astype(np.float32).reshape(x.shape[0], -1))


def randomize_bn(m):  # running statistics that are not the defaults, so that they matter
    for b in m.modules():
        if isinstance(b, (nn.BatchNorm1d, nn.BatchNorm2d)):
            b.running_mean.uniform_(-0.5, 0.5)
            b.running_var.uniform_(0.5, 1.5)
            b.weight.data.uniform_(0.5, 1.5)
            b.bias.data.uniform_(-0.3, 0.3)


class Mlp(nn.Module):  # Gemm, Flatten, Tanh, Dropout, LeakyRelu, Sigmoid, BatchNorm1d
    def __init__(s):
        super().__init__()
        s.a = nn.Linear(12, 9); s.bn = nn.BatchNorm1d(9); s.b = nn.Linear(9, 7); s.c = nn.Linear(7, 5)
    def forward(s, x):
        h = torch.tanh(s.bn(s.a(torch.flatten(x, 1))))
        h = F.leaky_relu(s.b(F.dropout(h, 0.3, s.training)), 0.2)
        return torch.sigmoid(s.c(h))


class Cnn(nn.Module):  # Conv (padding, groups, dilation, stride), BN, Relu, pools, Pad, Add, Concat, Softmax
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(3, 6, 3, padding=1); s.bn = nn.BatchNorm2d(6)
        s.c2 = nn.Conv2d(6, 6, 3, groups=3, dilation=2, padding=2)
        s.c3 = nn.Conv2d(6, 4, (3, 1), stride=(1, 2), padding=(1, 0), bias=False)
        s.fc = nn.Linear(6 * 4 * 3 + 4, 10)
    def forward(s, x):
        a = F.relu(s.bn(s.c1(x)))
        b = F.max_pool2d(a, 2)
        c = F.avg_pool2d(torch.sigmoid(s.c2(b)) + b, 2, padding=1)
        g = F.adaptive_avg_pool2d(s.c3(b), 1).flatten(1)
        return torch.softmax(s.fc(torch.cat([c.flatten(1), g], 1)), 1)


class Seq(nn.Module):  # MatMul + Add per step on (T, D) floats, GELU (Div, Erf, Add, Mul, Mul), LayerNorm
    def __init__(s):
        super().__init__()
        s.a = nn.Linear(5, 8); s.ln = nn.LayerNorm(8); s.b = nn.Linear(8, 3, bias=False)
    def forward(s, x):
        return s.b(s.ln(F.gelu(s.a(x))))


class Rnn(nn.Module):  # Gather (embedding), LSTM, GRU (every step), MatMul + Add
    def __init__(s):
        super().__init__()
        s.e = nn.Embedding(11, 6); s.l = nn.LSTM(6, 5, batch_first=True); s.g = nn.GRU(5, 4, batch_first=True)
        s.o = nn.Linear(4, 11)
    def forward(s, x):
        h, _ = s.l(s.e(x))
        h, _ = s.g(h)
        return s.o(h)


class LstmLast(nn.Module):  # an LSTM's last state (h_n), as a classifier reads it
    def __init__(s):
        super().__init__()
        s.l = nn.LSTM(4, 7, batch_first=True); s.o = nn.Linear(7, 3)
    def forward(s, x):
        _, (h, _) = s.l(x)
        return s.o(h.squeeze(0))


class Attn(nn.Module):  # nanoGPT's CausalSelfAttention: fused q, k, v projection, causal mask
    def __init__(s, C, H, T):
        super().__init__()
        s.c_attn = nn.Linear(C, 3 * C); s.c_proj = nn.Linear(C, C); s.H = H
        s.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))
    def forward(s, x):
        B, T, C = x.size()
        q, k, v = s.c_attn(x).split(C, dim=2)
        k = k.view(B, T, s.H, C // s.H).transpose(1, 2)
        q = q.view(B, T, s.H, C // s.H).transpose(1, 2)
        v = v.view(B, T, s.H, C // s.H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(s.bias[:, :, :T, :T] == 0, float("-inf"))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        return s.c_proj(y)


class Gpt(nn.Module):  # token and position embeddings, 2 pre-norm blocks, final norm, tied head
    def __init__(s, V=13, C=8, H=2, T=6, L=2):
        super().__init__()
        s.wte = nn.Embedding(V, C); s.wpe = nn.Embedding(T, C)
        s.blocks = nn.ModuleList()
        for _ in range(L):
            s.blocks.append(nn.ModuleDict(dict(ln_1=nn.LayerNorm(C), attn=Attn(C, H, T), ln_2=nn.LayerNorm(C),
                                               fc=nn.Linear(C, 4 * C), proj=nn.Linear(4 * C, C))))
        s.ln_f = nn.LayerNorm(C); s.lm_head = nn.Linear(C, V, bias=False)
        s.lm_head.weight = s.wte.weight
    def forward(s, idx):
        pos = torch.arange(0, idx.size(1), dtype=torch.long)
        x = s.wte(idx) + s.wpe(pos)
        for b in s.blocks:
            x = x + b["attn"](b["ln_1"](x))
            x = x + b["proj"](F.gelu(b["fc"](b["ln_2"](x))))
        return s.lm_head(s.ln_f(x))


class DsCnn(nn.Module):  # MLPerf Tiny's keyword spotting DS-CNN (tests/m4/tiny_models.h's tiny_kws)
    def __init__(s):
        super().__init__()
        s.c = nn.Conv2d(1, 64, (10, 4), stride=2, padding=(5, 1)); s.bn = nn.BatchNorm2d(64)
        s.blocks = nn.ModuleList()
        for _ in range(4):
            s.blocks.append(nn.Sequential(nn.Conv2d(64, 64, 3, padding=1, groups=64), nn.BatchNorm2d(64), nn.ReLU(),
                                          nn.Conv2d(64, 64, 1), nn.BatchNorm2d(64), nn.ReLU()))
        s.fc = nn.Linear(64, 12)
    def forward(s, x):
        x = F.relu(s.bn(s.c(x)))
        for b in s.blocks:
            x = b(x)
        return torch.softmax(s.fc(F.adaptive_avg_pool2d(x, 1).flatten(1)), 1)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    m = Mlp(); randomize_bn(m)
    save("mlp", m, torch.randn(5, 3, 4), 11)
    m = Cnn(); randomize_bn(m)
    # batchnorm kept as a node (not folded into the convolution) so that the reader sees one
    save("cnn", m, torch.randn(3, 3, 13, 11), 14, training=torch.onnx.TrainingMode.PRESERVE)
    save("seq", Seq(), torch.randn(4, 7, 5), 17)
    save("rnn", Rnn(), torch.randint(0, 11, (3, 9)), 14)
    save("lstm_last", LstmLast(), torch.randn(4, 6, 4), 14)
    m = DsCnn(); randomize_bn(m)
    save("kws_dscnn", m, torch.randn(2, 1, 49, 10), 14, training=torch.onnx.TrainingMode.PRESERVE)
    # opset 14 (torch 1.13's default): LayerNorm written out as ReduceMean, Sub, Pow, ... (seq has
    # opset 17's LayerNormalization)
    save("gpt", Gpt(), torch.randint(0, 13, (3, 6)), 14)
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))
