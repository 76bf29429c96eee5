#!/usr/bin/python3
"""bench/mpi.c's runs in PyTorch DistributedDataParallel (gloo backend, Debian python3-torch):
the same networks (bench/torch_ref.py's), global batch 64 shared among the processes in file
order, Adam 1e-3 (SGD 0.1 for mlp-784-128-10), one thread per process. Prints, from rank 0,
    ddp NET procs=P threads=1 epoch_s=... img_s=... acc=...
Usage: /usr/bin/python3 bench/torch_ddp.py NET PROCS [EPOCHS]   (make bench-mpi runs it)"""
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ref import load, net  # noqa: E402


def run(rank, size, name, epochs, port):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    xtr, ytr = load("train-images-idx3-ubyte.gz", True), load("train-labels-idx1-ubyte.gz", False)
    xte, yte = load("t10k-images-idx3-ubyte.gz", True), load("t10k-labels-idx1-ubyte.gz", False)
    torch.manual_seed(1)
    model, image = net(name)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1) if name == "mlp-784-128-10" else \
        torch.optim.Adam(ddp.parameters(), lr=1e-3)
    shape = (-1, 1, 28, 28) if image else (-1, 784)
    xs, xt = xtr.reshape(shape), xte.reshape(shape)
    times = []
    for _ in range(epochs):
        dist.barrier()
        t0 = time.perf_counter()
        ddp.train()
        for i in range(0, xs.shape[0], 64):
            n = min(64, xs.shape[0] - i)
            lo, hi = i + n * rank // size, i + n * (rank + 1) // size  # this process's part of the batch
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(ddp(xs[lo:hi]), ytr[lo:hi])
            loss.backward()
            opt.step()
        dist.barrier()
        times.append(time.perf_counter() - t0)
    if rank == 0:
        model.eval()
        with torch.no_grad():
            acc = sum((model(xt[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, xt.shape[0], 1000))
        s = statistics.median(times)
        print("ddp %s procs=%d threads=1 epoch_s=%.3f img_s=%.0f acc=%.4f" % (name, size, s, xs.shape[0] / s, acc / xt.shape[0]),
              flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    name, procs = sys.argv[1], int(sys.argv[2])
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    mp.spawn(run, args=(procs, name, epochs, 29500 + os.getpid() % 1000), nprocs=procs, join=True)
