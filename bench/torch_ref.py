#!/usr/bin/python3
"""The benchmark networks of bench/train and bench/infer in PyTorch (Debian python3-torch),
same batch size, optimizers and data order (file order, no shuffling), tensors in memory and
sliced batches (no DataLoader). Prints the same lines as the C benchmarks:
    train NET epoch_s=... acc=... rss_mb=... threads=N epochs=E
    infer NET batch1_us=... batch256_ips=... threads=N
Usage: /usr/bin/python3 bench/torch_ref.py [--threads N] [--only train|infer] [NET ...]
       /usr/bin/python3 bench/torch_ref.py --cuda   (bench/cuda.c's runs on the GPU:
           train NET batch=B epoch_s=... img_s=... acc=... epochs=E device=torch-cuda)
Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (make bench-torch does), and with
OPENBLAS_NUM_THREADS=1 for 2 threads, where PyTorch's and OpenBLAS's pools otherwise fight."""
import gzip
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

DIR = os.environ.get("FASHION_DIR", "/usr/share/datasets/fashion-mnist")


def load(name, images):
    with gzip.open(os.path.join(DIR, name), "rb") as f:
        b = f.read()
    if images:
        return torch.from_numpy(np.frombuffer(b, np.uint8, offset=16).astype(np.float32).reshape(-1, 784) / 255.0)
    return torch.from_numpy(np.frombuffer(b, np.uint8, offset=8).astype(np.int64))


def net(name):
    nn = torch.nn
    if name == "mlp-784-128-10":
        return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)), False
    if name == "mlp-784-256-128-10":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)), False
    if name == "cnn-32-64":
        return nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(3136, 1024), nn.ReLU(), nn.Linear(1024, 10)), True
    if name == "lenet5":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)), True
    raise SystemExit("unknown network " + name)


def train(name, threads, xtr, ytr, xte, yte, device=None, batch=64):
    torch.manual_seed(1)
    model, image = net(name)
    if device:
        model = model.to(device)
        xtr, ytr, xte, yte = xtr.to(device), ytr.to(device), xte.to(device), yte.to(device)
    epochs = int(os.environ.get("EPOCHS", 2 if image else 5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1) if name == "mlp-784-128-10" else \
        torch.optim.Adam(model.parameters(), lr=1e-3)
    shape = (-1, 1, 28, 28) if image else (-1, 784)
    xs, xt = xtr.reshape(shape), xte.reshape(shape)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        for i in range(0, xs.shape[0], batch):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xs[i:i + batch]), ytr[i:i + batch])
            loss.backward()
            opt.step()
        if device:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        acc = sum((model(xt[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, xt.shape[0], 1000))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if device:
        s = statistics.median(times)
        print("train %s batch=%d epoch_s=%.3f img_s=%.0f acc=%.4f epochs=%d device=torch-cuda" %
              (name, batch, s, xs.shape[0] / s, acc / xt.shape[0], epochs), flush=True)
        return
    print("train %s epoch_s=%.3f acc=%.4f rss_mb=%.0f threads=%d epochs=%d" %
          (name, statistics.median(times), acc / xt.shape[0], rss, threads, epochs), flush=True)


# --- examples/charlm.c's character-level GPT (nanoGPT's CausalSelfAttention and Block, bias=False in
#     the projections; nn.LayerNorm keeps its bias, as nn.h's layernorm has one) ---
CHAR = dict(layers=4, heads=4, width=128, ctx=64, batch=12)


class Block(torch.nn.Module):
    def __init__(self, c, h):
        super().__init__()
        nn = torch.nn
        self.ln_1, self.ln_2, self.h = nn.LayerNorm(c), nn.LayerNorm(c), h
        self.c_attn, self.c_proj = nn.Linear(c, 3 * c, bias=False), nn.Linear(c, c, bias=False)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c, bias=False), nn.Linear(4 * c, c, bias=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / (C // self.h) ** 0.5)
        att = att.masked_fill(torch.tril(torch.ones(T, T, dtype=torch.bool)) == 0, float("-inf"))
        y = (torch.nn.functional.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(torch.nn.functional.gelu(self.c_fc(self.ln_2(x))))


class GPT(torch.nn.Module):
    def __init__(self, vocab, layers, heads, width, ctx):
        super().__init__()
        nn = torch.nn
        self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(ctx, width)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        for name, p in self.named_parameters():  # nanoGPT's initialization
            if p.dim() == 2:
                std = 0.02 / (2 * layers) ** 0.5 if name.endswith("c_proj.weight") or name.endswith("mlp_proj.weight") else 0.02
                torch.nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.blocks:
            x = b(x)
        return self.ln_f(x) @ self.wte.weight.t()  # tied lm_head


class CharLSTM(torch.nn.Module):
    """charlm.c's lstm: 128-wide embeddings, two LSTM layers of 256, a Linear head (default inits)"""
    def __init__(self, vocab):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, 128)
        self.lstm = torch.nn.LSTM(128, 256, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(256, vocab)

    def forward(self, idx):
        return self.head(self.lstm(self.emb(idx))[0])


def train_charlm(threads, path="data/kjv.txt", iters=None, kind="gpt"):
    """charlm.c's loop: random training windows, nanoGPT's lr schedule, AdamW (one parameter group,
    weight decay on every parameter, as nn.h's), gradient clipping; the validation loss over every
    window of the last 10% of the text (stride ctx), as charlm.c computes it."""
    import math
    torch.manual_seed(1337)
    iters = iters or int(os.environ.get("ITERS", 2000))
    text = open(path, "rb").read()
    chars = sorted(set(text))
    code = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([code[c] for c in text], dtype=torch.long)
    n_train = len(data) * 9 // 10
    tr, va = data[:n_train], data[n_train:]
    c = CHAR
    model = CharLSTM(len(chars)) if kind == "lstm" else GPT(len(chars), c["layers"], c["heads"], c["width"], c["ctx"])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)

    def lr_at(it):
        if it < 100:
            return 1e-3 * (it + 1) / 101
        return 1e-4 + 0.5 * (1.0 + math.cos(math.pi * (it - 100) / (iters - 100))) * (1e-3 - 1e-4)

    times = []
    for it in range(iters):
        ix = torch.randint(len(tr) - c["ctx"], (c["batch"],))
        x = torch.stack([tr[i:i + c["ctx"]] for i in ix])
        y = torch.stack([tr[i + 1:i + 1 + c["ctx"]] for i in ix])
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    model.eval()
    w = (len(va) - 1) // c["ctx"]
    with torch.no_grad():
        total = 0.0
        for i in range(0, w, 64):
            k = min(64, w - i)
            x = va[i * c["ctx"]:(i + k) * c["ctx"]].view(k, c["ctx"])
            y = va[i * c["ctx"] + 1:(i + k) * c["ctx"] + 1].view(k, c["ctx"])
            total += torch.nn.functional.cross_entropy(model(x).view(-1, len(chars)), y.reshape(-1), reduction="sum").item()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("train charlm-%s iter_ms=%.2f val_loss=%.4f rss_mb=%.0f threads=%d iters=%d" %
          (kind, 1e3 * statistics.median(times), total / (w * c["ctx"]), rss, threads, iters), flush=True)


def infer(name, threads, xte):
    torch.manual_seed(1)
    model, image = net(name)
    model.eval()
    x = xte.reshape((-1, 1, 28, 28) if image else (-1, 784))
    reps1, reps256 = (2001, 21) if not image else (201, 11)
    t1, t256 = [], []
    with torch.no_grad():
        for i in range(100):
            model(x[i:i + 1])
        for i in range(reps1):
            t0 = time.perf_counter()
            model(x[i % 10000:i % 10000 + 1])
            t1.append(time.perf_counter() - t0)
        for i in range(reps256):
            t0 = time.perf_counter()
            model(x[256 * i % 9744:256 * i % 9744 + 256])
            t256.append(time.perf_counter() - t0)
    print("infer %s batch1_us=%.2f batch256_ips=%.0f threads=%d" %
          (name, 1e6 * statistics.median(t1), 256 / statistics.median(t256), threads), flush=True)


def main():
    args = sys.argv[1:]
    threads, only = 1, None
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    if "--cuda" in args:
        if not torch.cuda.is_available():
            print("# torch %s: CUDA is not available here (Debian's python3-torch is CPU-only)" % torch.__version__)
            return
        print("# torch %s on %s" % (torch.__version__, torch.cuda.get_device_name(0)), flush=True)
        xte, yte = load("t10k-images-idx3-ubyte.gz", True), load("t10k-labels-idx1-ubyte.gz", False)
        xtr, ytr = load("train-images-idx3-ubyte.gz", True), load("train-labels-idx1-ubyte.gz", False)
        for n in ["mlp-784-128-10", "cnn-32-64"]:
            for b in [64, 512]:
                train(n, 0, xtr, ytr, xte, yte, "cuda", b)
        return
    torch.set_num_threads(threads)
    print("# torch %s, %d threads, OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s OPENBLAS_NUM_THREADS=%s" %
          (torch.__version__, threads, os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
           os.environ.get("OPENBLAS_L2_SIZE", "(unset)"), os.environ.get("OPENBLAS_NUM_THREADS", "(unset)")), flush=True)
    if args and args[0].startswith("charlm"):
        if only != "infer":
            for a in args:
                train_charlm(threads, kind="lstm" if a == "charlm-lstm" else "gpt")
        return
    nets = args or ["mlp-784-128-10", "mlp-784-256-128-10", "lenet5", "cnn-32-64"]
    xte, yte = load("t10k-images-idx3-ubyte.gz", True), load("t10k-labels-idx1-ubyte.gz", False)
    if only != "infer":
        xtr, ytr = load("train-images-idx3-ubyte.gz", True), load("train-labels-idx1-ubyte.gz", False)
        for n in nets:
            train(n, threads, xtr, ytr, xte, yte)
    if only != "train":
        for n in ["mlp-784-128-10", "cnn-32-64"]:
            if n in nets:
                infer(n, threads, xte)


if __name__ == "__main__":
    main()
