#!/bin/sh
# The test suite on other machines under qemu-user: 32-bit ARM (arm-linux-gnueabihf) and
# big-endian s390x (s390x-linux-gnu). The file tests there load the model files committed
# from x86. Each architecture is skipped with a message when its cross compiler or qemu is
# missing (apt-get install gcc-arm-linux-gnueabihf libc6-dev-armhf-cross gcc-s390x-linux-gnu
# libc6-dev-s390x-cross qemu-user). CROSS_TESTS names the tests (default: tests/test_*.c).
# Emulation is slow (test_gemm: a minute on ARM, five on s390x), so each machine runs what it
# is there for: 32-bit ARM every test but test_gemm and test_conv (their portable kernels run
# in the sanitizer builds on x86; 3 minutes here), big-endian s390x the tests that read or
# write bytes (files, int8 tables, the interop and firmware models, ONNX's protobuf; test_seq's sequence files
# go through the same writer and reader, and its arithmetic takes 100 s there).
# Ends with "cross: N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
W="-std=c99 -O2 -Wall -Wextra -pedantic -Werror"
tests=${CROSS_TESTS:-$(cd tests && ls test_*.c | sed 's/\.c$//')}
run_arch() { # triple:qemu-suffix tests...; prints result lines and "N M" counts last
    triple=${1%%:*}; a=${1##*:}; q=qemu-$a; shift; tests="$*"
    if ! command -v $triple-gcc >/dev/null 2>&1 || ! command -v $q >/dev/null 2>&1; then
        echo "cross: skipped $a: no $triple-gcc or $q"; echo "0 0"; return
    fi
    mkdir -p build/$a
    p=0; f=0
    for t in $tests; do
        b=build/$a/$t
        if ! $triple-gcc $W -DNN_TEST_TAG="\"_$a\"" tests/$t.c -o $b -lm; then f=$((f + 1)); echo "FAIL $a build: $t"; continue; fi
        out=$(QEMU_LD_PREFIX=/usr/$triple $q $b 2>&1)
        line=$(printf '%s\n' "$out" | grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
        printf '%s\n' "$out" | grep -E '^FAIL' | sed "s/^/$a /"
        [ -z "$line" ] && { f=$((f + 1)); echo "FAIL $a $t: no summary line (crash?)"; continue; }
        echo "$a $line"
        p=$((p + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
        f=$((f + $(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')))
    done
    echo "$p $f"
}
mkdir -p build
# the two machines at once (two cores)
only() { for t in $tests; do case " $* " in *" $t "*) echo $t;; esac; done; }
arm_tests=$(for t in $tests; do case $t in test_gemm|test_conv) ;; *) echo $t;; esac; done)
be_tests=$(only test_errors test_file test_firmware test_interop test_quant test_onnx)
run_arch arm-linux-gnueabihf:arm $arm_tests > build/cross_arm.txt 2>&1 &
run_arch s390x-linux-gnu:s390x $be_tests > build/cross_s390x.txt 2>&1
wait
pass=0; fail=0
for a in arm s390x; do
    sed '$d' build/cross_$a.txt
    set -- $(tail -n 1 build/cross_$a.txt)
    pass=$((pass + $1)); fail=$((fail + $2))
done
echo "cross: $pass passed, $fail failed"
[ $fail -eq 0 ]
