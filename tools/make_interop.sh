#!/bin/sh
# Regenerates the PyTorch interop references in tests/ref/ (see tools/interop.py).
# Needs Debian's python3-torch and python3-numpy (for /usr/bin/python3).
set -e
cd "$(dirname "$0")/.."
mkdir -p build
/usr/bin/python3 tools/interop.py torch
cc -std=c99 -O2 tools/interop_nnh.c -o build/interop_nnh -lm
./build/interop_nnh
/usr/bin/python3 tools/interop.py outputs
ls -l tests/ref/*.safetensors
