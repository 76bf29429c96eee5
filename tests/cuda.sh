#!/bin/sh
# The CUDA backend with the real toolkit: builds tests/test_cuda.c with nvcc (NVCC, else nvcc
# on PATH, else /usr/local/cuda/bin/nvcc) and runs it; without a GPU it checks the CPU
# fallback and says the GPU checks were skipped. bench/cuda.c must build too. A machine
# without the toolkit skips all of this with a message. Ends with "cuda: N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
NVCC=${NVCC:-$(command -v nvcc || true)}
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -z "$NVCC" ]; then
    echo "cuda: nvcc not found (no CUDA toolkit): the CUDA build is skipped"
    echo "cuda: 0 passed, 0 failed"
    exit 0
fi
# sm_80 (A100) and sm_90 (H100) code, plus PTX that newer GPUs compile at load time
ARCH=${NVCC_ARCH:-"-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]"}
FLAGS="-std=c++17 -O2 --Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror,-fopenmp $ARCH"
mkdir -p build
pass=0; fail=0
"$NVCC" --version | tail -n 2 | head -n 1
build() { # output, source
    if out=$("$NVCC" -x cu $FLAGS "$2" -o "$1" -lcublas 2>&1); then pass=$((pass + 1)); echo "built $1 with nvcc"
    else fail=$((fail + 1)); echo "FAIL nvcc: $2"; printf '%s\n' "$out" | head -n 20; fi
}
build build/test_cuda tests/test_cuda.c
build build/bench_cuda bench/cuda.c
if [ -x build/test_cuda ]; then
    out=$(./build/test_cuda 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^test_cuda: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ] || [ "$rc" -ne 0 ]; then
        [ -z "$line" ] && echo "build/test_cuda: exited with status $rc before its summary line"
        fail=$((fail + 1))
    fi
    if [ -n "$line" ]; then
        pass=$((pass + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
        fail=$((fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')))
    fi
fi
echo "cuda: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
