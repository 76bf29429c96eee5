#!/usr/bin/python3
"""Side-by-side table of nn.h against PyTorch (and OpenBLAS / oneDNN for GEMM) from the lines
the benchmarks print. Usage: bench/compare.py NN_OUT TORCH_1THREAD_OUT TORCH_2THREAD_OUT [GEMM_OUT]
Ratios are nn.h time / PyTorch's faster setting (below 1: nn.h is faster), and for GEMM
nn.h GFLOP/s / reference GFLOP/s (above 1: nn.h is faster)."""
import re
import sys


def parse(path):
    rows = {}
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return rows
    for line in lines:
        m = re.match(r"^(train|infer) (\S+) (.*)$", line)
        if m:
            rows[(m.group(1), m.group(2))] = dict(kv.split("=") for kv in m.group(3).split())
    return rows


nn, t1, t2 = parse(sys.argv[1]), parse(sys.argv[2]), parse(sys.argv[3])
print("%-20s %10s %10s %10s %8s %8s %8s %8s" % ("train (s/epoch)", "nn.h", "torch 1t", "torch 2t", "ratio", "nn acc", "torch acc", "nn rss"))
for (kind, name), r in nn.items():
    if kind != "train":
        continue
    a, b = t1.get((kind, name)), t2.get((kind, name))
    best = min([float(x["epoch_s"]) for x in (a, b) if x] or [0])
    bt = min([x for x in (a, b) if x], key=lambda x: float(x["epoch_s"])) if (a or b) else None
    print("%-20s %10s %10s %10s %8s %8s %8s %8s" % (name, r["epoch_s"], a["epoch_s"] if a else "-", b["epoch_s"] if b else "-",
          "%.2f" % (float(r["epoch_s"]) / best) if best else "-", r["acc"], bt["acc"] if bt else "-", r["rss_mb"]))
print()
print("%-20s %12s %12s %12s %8s" % ("infer", "nn.h", "torch 1t", "torch 2t", "ratio"))
for (kind, name), r in nn.items():
    if kind != "infer":
        continue
    a, b = t1.get((kind, name)), t2.get((kind, name))
    for key, better in (("batch1_us", min), ("batch256_ips", max)):
        vals = [float(x[key]) for x in (a, b) if x]
        ref = better(vals) if vals else 0
        ratio = (float(r[key]) / ref) if ref else 0
        print("%-20s %12s %12s %12s %8s" % (name + " " + key, r[key], a[key] if a else "-", b[key] if b else "-",
              "%.2f" % ratio if ref else "-"))
if len(sys.argv) > 4:
    print()
    print("GEMM (GFLOP/s, nn.h / reference):")
    for line in open(sys.argv[4]):
        if line.startswith("gemm"):
            print("  " + line.strip())
