#!/bin/sh
# nn_mpi.h with OpenMPI: builds tests/test_mpi.c with mpicc, runs it on 2 and on 3 processes
# (--oversubscribe: more processes than cores), then checks that a job one of whose processes
# dies mid-fit ends (mpirun aborts it) instead of hanging: within 60 s, with a failure status.
# bench/mpi.c must build too. Skipped with a message without OpenMPI (apt-get install
# libopenmpi-dev openmpi-bin). Ends with "mpi: N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
if ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then
    echo "mpi: skipped: OpenMPI is not installed (apt-get install libopenmpi-dev openmpi-bin)"
    echo "mpi: 0 passed, 0 failed"
    exit 0
fi
# (CI runs as root, which mpirun refuses unless told; one thread per process)
RUN="mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1"
export OMPI_MCA_rmaps_base_oversubscribe=1
# (no single-copy transfers between processes: containers often forbid the ptrace they need)
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mkdir -p build
pass=0; fail=0
W="-std=c99 -Wall -Wextra -pedantic -Werror -O2 -fopenmp"
for s in tests/test_mpi.c bench/mpi.c; do
    o=build/$(basename $s .c); [ $s = bench/mpi.c ] && o=build/bench_mpi
    if mpicc $W $s -o $o -lm; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL mpicc $s"; fi
done
for np in 2 3; do
    [ -x build/test_mpi ] || break
    out=$(timeout 600 $RUN -np $np build/test_mpi 2>&1); rc=$?
    printf '%s\n' "$out" | grep -v -E '^-+$|^$'
    line=$(printf '%s\n' "$out" | grep -E '^test_mpi: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then echo "FAIL test_mpi on $np processes: exit status $rc before its summary line"; fail=$((fail + 1)); continue; fi
    pass=$((pass + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
    fail=$((fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')))
done
# with nn_cuda.h, through nvcc (where the toolkit is): builds, and runs on 2 processes
NVCC=${NVCC:-$(command -v nvcc || true)}
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -n "$NVCC" ]; then
    if "$NVCC" -x cu -std=c++17 -O2 --Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror tests/test_mpi_cuda.c \
         $(mpicc -showme:compile) $(mpicc -showme:link) -o build/test_mpi_cuda -lcublas; then
        pass=$((pass + 1))
        out=$(timeout 300 $RUN -np 2 build/test_mpi_cuda 2>&1); rc=$?
        printf '%s\n' "$out" | grep -v -E '^-+$|^$'
        if printf '%s\n' "$out" | grep -q -E '^test_mpi_cuda: 1 passed, 0 failed$'; then pass=$((pass + 1))
        else fail=$((fail + 1)); echo "FAIL test_mpi_cuda (status $rc)"; fi
    else fail=$((fail + 1)); echo "FAIL nvcc: tests/test_mpi_cuda.c"; fi
    # and its NCCL path (compile and link only: it runs where the GPUs are)
    if "$NVCC" -x cu -std=c++17 -O2 --Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror -DNN_MPI_NCCL tests/test_mpi_cuda.c \
         $(mpicc -showme:compile) $(mpicc -showme:link) -o build/test_mpi_nccl -lcublas -lnccl; then
        pass=$((pass + 1)); echo "built build/test_mpi_nccl (nn_mpi.h's NCCL path)"
    else fail=$((fail + 1)); echo "FAIL nvcc -DNN_MPI_NCCL: tests/test_mpi_cuda.c"; fi
else echo "mpi: nvcc not found: nn_mpi.h with nn_cuda.h not built"; fi
if [ -x build/test_mpi ]; then
    t0=$(date +%s)
    timeout 60 $RUN -np 2 build/test_mpi --die >/dev/null 2>&1; rc=$?
    t=$(( $(date +%s) - t0 ))
    if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then pass=$((pass + 1)); echo "a process killed mid-fit: mpirun ended the job in ${t}s (status $rc)"
    else fail=$((fail + 1)); echo "FAIL a process killed mid-fit: status $rc after ${t}s (124: still waiting at 60 s)"; fi
fi
echo "mpi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
