#!/usr/bin/python3
"""make bench-mpi's lines -> per network and setting the median images/s over the rounds, and
the scaling of 2 processes over 1 (each engine against itself)."""
import re
import statistics
import sys

runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(mpi|ddp) (\S+) procs=(\d+) .*img_s=(\d+)", line)
    if not m:
        continue
    kind = "nn.h" if m.group(1) == "mpi" else "PyTorch DDP"
    if m.group(1) == "mpi" and re.search(r"bucket=0\b", line):
        kind = "nn.h, one reduction"
    runs.setdefault((m.group(2), kind, int(m.group(3))), []).append(float(m.group(4)))
print("| network | engine | 1 process img/s | 2 processes img/s | scaling |")
print("| --- | --- | --- | --- | --- |")
for net in sorted({k[0] for k in runs}):
    for kind in ("nn.h", "nn.h, one reduction", "PyTorch DDP"):
        one = runs.get((net, "nn.h" if kind == "nn.h, one reduction" else kind, 1))
        two = runs.get((net, kind, 2))
        if not one or not two:
            continue
        a, b = statistics.median(one), statistics.median(two)
        print("| %s | %s | %.0f | %.0f | %.2fx |" % (net, kind, a, b, b / a))
