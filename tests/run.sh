#!/bin/sh
# Runs each test binary or script given, echoes its output and how long it took, and ends with
# the total line "N passed, N failed". Exits nonzero if any check failed or any binary crashed.
passed=0; failed=0; status=0
start=$(date +%s)
for t in "$@"; do
    echo "== $t"
    t0=$(date +%s)
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    echo "   ($t: $(( $(date +%s) - t0 )) s)"
    line=$(printf '%s\n' "$out" | grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        echo "$t: exited with status $rc before its summary line (crash?)"
        failed=$((failed + 1)); status=1; continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    [ "$rc" -ne 0 ] && status=1
done
echo "(the tests took $(( $(date +%s) - start )) s)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && exit $status
exit 1
