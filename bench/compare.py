#!/usr/bin/python3
"""Side-by-side table of nn.h against PyTorch (and OpenBLAS / oneDNN for GEMM) from the lines
the benchmarks print. Usage: bench/compare.py NN_OUT TORCH_1THREAD_OUT TORCH_2THREAD_OUT [GEMM_OUT]
Ratios are nn.h time / PyTorch's faster setting (below 1: nn.h is faster), and for GEMM
nn.h GFLOP/s / reference GFLOP/s (above 1: nn.h is faster). A network trained in several
rounds (its lines repeated, the three runs of a round back to back) shows the medians of each
column and the median of the rounds' ratios."""
import re
import statistics
import sys


def parse(path):
    """(kind, name) -> the rows of its lines, in order (one per round)"""
    rows = {}
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return rows
    for line in lines:
        m = re.match(r"^(train|infer) (\S+) (.*)$", line)
        if m:
            rows.setdefault((m.group(1), m.group(2)), []).append(dict(kv.split("=") for kv in m.group(3).split()))
    return rows


def med(rows, key):
    return statistics.median(float(x[key]) for x in rows)


nn, t1, t2 = parse(sys.argv[1]), parse(sys.argv[2]), parse(sys.argv[3])
print("%-20s %10s %10s %10s %8s %8s %8s %8s %6s" % ("train (s/epoch)", "nn.h", "torch 1t", "torch 2t", "ratio", "nn acc",
                                                  "torch acc", "nn rss", "rounds"))
for (kind, name), rs in nn.items():
    if kind != "train" or "epoch_s" not in rs[0]:
        continue
    a, b = t1.get((kind, name), []), t2.get((kind, name), [])
    ratios = []
    for k, r in enumerate(rs):  # each round against PyTorch's faster setting in that round
        ref = [float(x[k]["epoch_s"]) for x in (a, b) if len(x) > k]
        if ref:
            ratios.append(float(r["epoch_s"]) / min(ref))
    bt = min([x[0] for x in (a, b) if x], key=lambda x: float(x["epoch_s"])) if (a or b) else None
    print("%-20s %10.3f %10s %10s %8s %8s %8s %8s %6d" % (name, med(rs, "epoch_s"), "%.3f" % med(a, "epoch_s") if a else "-",
          "%.3f" % med(b, "epoch_s") if b else "-", "%.2f" % statistics.median(ratios) if ratios else "-", rs[0]["acc"],
          bt["acc"] if bt else "-", max(int(float(x["rss_mb"])) for x in rs), len(rs)))
for (kind, name), rs in nn.items():  # the char models: ms per iteration and validation loss
    if kind != "train" or "iter_ms" not in rs[0]:
        continue
    ref_name = name[:-5] if name.endswith("-lean") else name  # (charlm-gpt-lean: the same model as charlm-gpt)
    a, b = t1.get((kind, ref_name), []), t2.get((kind, ref_name), [])
    ref = [x[0] for x in (a, b) if x]
    best = min(ref, key=lambda x: float(x["iter_ms"])) if ref else None
    print("%-20s %10s %10s %10s %8s %8s %8s %8s" % (name + " ms/it", rs[0]["iter_ms"], a[0]["iter_ms"] if a else "-",
          b[0]["iter_ms"] if b else "-", "%.2f" % (float(rs[0]["iter_ms"]) / float(best["iter_ms"])) if best else "-",
          rs[0]["val_loss"], best["val_loss"] if best else "-", rs[0]["rss_mb"]))
print("  (char models: val loss in the accuracy columns)")
print()
print("%-20s %12s %12s %12s %8s" % ("infer", "nn.h", "torch 1t", "torch 2t", "ratio"))
for (kind, name), rs in nn.items():
    if kind != "infer":
        continue
    a, b = t1.get((kind, name), []), t2.get((kind, name), [])
    for key, better in (("batch1_us", min), ("batch256_ips", max)):
        ratios = []
        for k, r in enumerate(rs):
            ref = [float(x[k][key]) for x in (a, b) if len(x) > k]
            if ref:
                ratios.append(float(r[key]) / better(ref))
        f = "%.2f" if key == "batch1_us" else "%.0f"
        print("%-20s %12s %12s %12s %8s" % (name + " " + key, f % med(rs, key), f % med(a, key) if a else "-",
              f % med(b, key) if b else "-", "%.2f" % statistics.median(ratios) if ratios else "-"))
if len(sys.argv) > 4:
    print()
    print("GEMM (GFLOP/s, nn.h / reference):")
    for line in open(sys.argv[4]):
        if line.startswith("gemm"):
            print("  " + line.strip())
