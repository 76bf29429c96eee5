#!/bin/sh
# The file tests on a big-endian machine: builds test_file and test_interop with the s390x
# cross compiler and runs them under qemu-user (they load the model files committed from
# x86). Skips with a message when the tools are missing (apt-get install
# gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user). Ends with "cross: N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
W="-std=c99 -O2 -Wall -Wextra -pedantic -Werror"
if ! command -v s390x-linux-gnu-gcc >/dev/null 2>&1 || ! command -v qemu-s390x >/dev/null 2>&1; then
    echo "cross: skipped: no s390x-linux-gnu-gcc or qemu-s390x (apt-get install gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user)"
    echo "cross: 0 passed, 0 failed"
    exit 0
fi
mkdir -p build
pass=0; fail=0
for t in test_file test_interop; do
    if ! s390x-linux-gnu-gcc $W tests/$t.c -o build/s390x_$t -lm; then fail=$((fail + 1)); echo "FAIL s390x build: $t"; continue; fi
    out=$(QEMU_LD_PREFIX=/usr/s390x-linux-gnu qemu-s390x build/s390x_$t 2>&1)
    printf '%s\n' "$out" | grep -v '^  ' | sed "s/^/s390x /"
    line=$(printf '%s\n' "$out" | grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    [ -z "$line" ] && { fail=$((fail + 1)); echo "FAIL s390x $t: no summary line (crash?)"; continue; }
    pass=$((pass + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
    fail=$((fail + $(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')))
done
echo "cross: $pass passed, $fail failed"
[ $fail -eq 0 ]
