#!/bin/sh
# Runs each test binary or script given, RUN_JOBS of them at a time (default 2), prints each
# one's output and time in the order given, and ends with the total line "N passed, N failed".
# Exits nonzero if any check failed or any binary crashed.
JOBS=${RUN_JOBS:-2}
D=$(mktemp -d)
passed=0; failed=0; status=0
start=$(date +%s)
report() { # index, name: print a finished item and add up its summary line
    out=$(cat "$D/$1.out"); rc=$(cat "$D/$1.rc")
    echo "== $2"
    printf '%s\n' "$out"
    echo "   ($2: $(cat "$D/$1.t") s)"
    line=$(printf '%s\n' "$out" | grep -E '^[a-z_]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        echo "$2: exited with status $rc before its summary line (crash?)"
        failed=$((failed + 1)); status=1; return
    fi
    passed=$((passed + $(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')))
    failed=$((failed + $(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')))
    [ "$rc" -ne 0 ] && status=1
}
n=0; done_=0; pids=""
for t in "$@"; do
    n=$((n + 1))
    ( t0=$(date +%s); "$t" > "$D/$n.out" 2>&1; echo $? > "$D/$n.rc"; echo $(( $(date +%s) - t0 )) > "$D/$n.t" ) &
    pids="$pids $!"
    eval "name_$n=\$t"
    while [ $((n - done_)) -ge "$JOBS" ]; do # the oldest first, so the output keeps the order given
        set -- $pids; wait "$1"; shift; pids="$*"
        done_=$((done_ + 1)); eval "report $done_ \"\$name_$done_\""
    done
done
while [ "$done_" -lt "$n" ]; do
    set -- $pids; wait "$1"; shift; pids="$*"
    done_=$((done_ + 1)); eval "report $done_ \"\$name_$done_\""
done
rm -rf "$D"
echo "(the tests took $(( $(date +%s) - start )) s)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && exit $status
exit 1
