#!/bin/sh
# Runs each libFuzzer target (tests/fuzz/fuzz_*.c: the model loader, the ONNX reader and the
# IDX, NumPy and CSV readers) for FUZZ_SECONDS (default 15, make test's share; FUZZ_SECONDS=600 make fuzz
# digs deeper) from its seed corpus (tests/fuzz/corpus/NAME, valid files), two at a time, with AddressSanitizer and UndefinedBehaviorSanitizer. A crash,
# leak or sanitizer report fails the target. Ends with "fuzz: N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
S=${FUZZ_SECONDS:-15}
B=build/fuzz
mkdir -p $B
if ! printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
     clang -fsanitize=fuzzer -x c - -o $B/probe 2>/dev/null; then
    echo "fuzz: skipped: clang with libFuzzer is not installed (apt-get install clang libclang-rt-14-dev)"
    echo "fuzz: 0 passed, 0 failed"
    exit 0
fi
pass=0; fail=0
run() { # name
    n=$1
    if ! clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
         tests/fuzz/fuzz_$n.c -o $B/fuzz_$n -lm 2> $B/$n.build; then
        echo "FAIL fuzz_$n: build"; cat $B/$n.build; return 1
    fi
    rm -rf $B/corpus_$n && mkdir -p $B/corpus_$n
    # new inputs go to build/, the committed seeds are only read
    if ASAN_OPTIONS=detect_leaks=1 $B/fuzz_$n -max_total_time=$S -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix=$B/crash_$n- $B/corpus_$n tests/fuzz/corpus/$n > $B/$n.log 2>&1; then
        echo "fuzz_$n: $(grep -E 'stat::number_of_executed_units' $B/$n.log | sed 's/.*: *//') runs in ${S}s, clean"
    else
        echo "FAIL fuzz_$n: see below ($B/$n.log; the input is $B/crash_$n-*)"; tail -n 40 $B/$n.log; return 1
    fi
}
for pair in "model idx" "npy csv" "onnx"; do
    set -- $pair
    run $1 > $B/$1.out & p1=$!
    [ -n "${2:-}" ] && { run $2 > $B/$2.out & p2=$!; }
    wait $p1; r1=$?
    cat $B/$1.out
    [ $r1 -eq 0 ] && pass=$((pass + 1)) || fail=$((fail + 1))
    [ -n "${2:-}" ] || continue
    wait $p2; r2=$?
    cat $B/$2.out
    [ $r2 -eq 0 ] && pass=$((pass + 1)) || fail=$((fail + 1))
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
