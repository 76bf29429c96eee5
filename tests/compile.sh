#!/bin/sh
# Builds nn.h in every configuration it promises (warnings are errors) and the examples with
# the one-line commands at their tops. Ends with "test_compile: N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
W="-Wall -Wextra -pedantic -Werror"
T=$(mktemp -d)
pass=0; fail=0
try() { # description, command...
    d=$1; shift
    if out=$("$@" 2>&1); then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL compile: $d"; printf "%s\n" "$out" | head -n 15 | cut -c1-300; fi
}
link2() { # description, compiler, flags: two translation units, one main
    d=$1; c=$2; shift 2
    try "$d (tu 1)" $c "$@" $W -DWITH_MAIN -DUSE_IMPL -c tests/compile_tu.c -o "$T/a.o"
    try "$d (tu 2)" $c "$@" $W ${TU2_FLAGS:-} -c tests/compile_tu.c -o "$T/b.o"
    try "$d (link)" $c "$@" -x none "$T/a.o" "$T/b.o" -o "$T/prog" -lm
}
# the examples, exactly as their first lines say (and xor must learn): every other one (k = 0, 1)
examples() {
    i=0
    for e in examples/*.c; do
        i=$((i + 1)); [ $((i % 2)) -eq "$1" ] || continue
        cmd=$(head -n 1 "$e" | sed -e 's|^/\* *||' -e 's| *&&.*||' -e 's|\*/.*||' -e 's| -o [^ ]*||')
        try "$e: $cmd" sh -c "$cmd -o $T/ex $W"
    done
}
# two halves at once (two cores), each in its own folder and counting on its own; the
# compiler matrix first
part1() {
# every configuration with gcc; the second compiler (clang) on the plain build and the firmware ones
for c in gcc clang; do
    command -v $c >/dev/null 2>&1 || { echo "skip: $c not installed"; continue; }
    link2 "$c c99" $c -std=c99
    try "$c c99 NN_NO_STDIO NN_NO_MALLOC" $c -std=c99 $W -DUSE_IMPL -DNN_NO_STDIO -DNN_NO_MALLOC -c tests/compile_tu.c -o "$T/c.o"
    # the firmware configuration: inference only, no malloc, no stdio, no VLAs
    try "$c c99 NN_NO_TRAINING NN_NO_MALLOC NN_NO_STDIO -Wvla" $c -std=c99 $W -Wvla -DUSE_IMPL -DNN_NO_TRAINING -DNN_NO_MALLOC -DNN_NO_STDIO -c tests/compile_tu.c -o "$T/c.o"
    [ $c = gcc ] || continue
    TU2_FLAGS="-DUSE_IMPL" link2 "$c c99 NN_STATIC in two files" $c -std=c99 -DNN_STATIC
    TU2_FLAGS="-DUSE_IMPL" link2 "$c c99 -O2 NN_STATIC in two files" $c -std=c99 -O2 -DNN_STATIC
    try "$c c99 NN_NO_STDIO" $c -std=c99 $W -DUSE_IMPL -DNN_NO_STDIO -c tests/compile_tu.c -o "$T/c.o"
    try "$c c99 NN_NO_MALLOC" $c -std=c99 $W -DUSE_IMPL -DNN_NO_MALLOC -c tests/compile_tu.c -o "$T/c.o"
    try "$c c99 -march=native NN_NO_SIMD" $c -std=c99 -march=native $W -DUSE_IMPL -DNN_NO_SIMD -c tests/compile_tu.c -o "$T/c.o"
    try "$c c99 NN_NO_TRAINING -march=native" $c -std=c99 -march=native $W -DUSE_IMPL -DNN_NO_TRAINING -c tests/compile_tu.c -o "$T/c.o"
done
link2 "gcc c99 -fopenmp" gcc -std=c99 -fopenmp
try "gcc c99 -fopenmp NN_NO_OPENMP" gcc -std=c99 -fopenmp -DNN_NO_OPENMP $W -DUSE_IMPL -c tests/compile_tu.c -o "$T/c.o"
link2 "g++ c++11" g++ -x c++ -std=c++11
link2 "g++ c++11 -fopenmp" g++ -x c++ -std=c++11 -fopenmp
examples 0
}
# then clang++, nn_cuda.h and the tools
part2() {
examples 1
if command -v clang++ >/dev/null 2>&1; then link2 "clang++ c++11" clang++ -x c++ -std=c++11; else echo "skip: clang++ not installed"; fi
try "g++ c++11 NN_NO_TRAINING" g++ -x c++ -std=c++11 $W -DUSE_IMPL -DNN_NO_TRAINING -c tests/compile_tu.c -o "$T/c.o"
# nn_cuda.h: its declarations in C; its implementation as C++ on the host compiler (with the
# runtime stand-ins of tests/cuda_emu.h; tests/cuda.sh builds it with nvcc)
printf '#include "nn.h"\n#include "nn_cuda.h"\nint f(nn_model *m) { return nn_cuda_attach(m, NULL); }\n' > "$T/cuda_decl.c"
try "nn_cuda.h declarations, cc c99" cc -std=c99 $W -I. -c "$T/cuda_decl.c" -o "$T/c.o"
try "nn_cuda.h implementation (emulated runtime), g++ c++11" g++ -x c++ -std=c++11 $W -fopenmp -c tests/test_cuda.c -o "$T/c.o"
# nn_onnx.h in C++ (its implementation with nn.h's); tools/onnx2nn converts a reference model and
# tools/nn2c embeds the result
try "nn_onnx.h (tools/onnx2nn.c), g++ c++11" g++ -x c++ -std=c++11 $W tools/onnx2nn.c -o "$T/onnx2nn_cpp" -lm
try "onnx2nn then nn2c" sh -c "cc -std=c99 -O2 $W tools/onnx2nn.c -lm -o $T/onnx2nn && $T/onnx2nn tests/ref/onnx/cnn.onnx $T/cnn.safetensors > /dev/null &&
    cc -std=c99 -O2 tools/nn2c.c -lm -o $T/nn2c_o && $T/nn2c_o $T/cnn.safetensors cnn > $T/cnn.h && grep -q 'cnn_len' $T/cnn.h"
# the AVX-VNNI (256-bit) int8 path compiles (this machine cannot run it)
try "gcc c99 -mavx2 -mfma -mavxvnni" gcc -std=c99 -mavx2 -mfma -mavxvnni $W -DUSE_IMPL -c tests/compile_tu.c -o "$T/c.o"
# a model compiled into a program: the example runs from its header (and needs 8 of 10 right)
try "embedded example runs" sh -c "cc -std=c99 -O2 examples/embedded_digits.c -lm -o $T/emb && $T/emb"
# the int8 firmware example runs from its header (whose arena size nn2c wrote: a layout change
# that outgrows it fails here) with NN_INT8_ONLY, and as C++
try "int8 firmware example runs" sh -c "cc -std=c99 -O2 examples/firmware_int8.c -lm -o $T/fw8 && $T/fw8 | grep -q 'of 10 right'"
try "NN_INT8_ONLY, g++ c++11" g++ -x c++ -std=c++11 $W -DUSE_IMPL -DNN_INT8_ONLY -DNN_NO_MALLOC -DNN_NO_STDIO -c tests/compile_tu.c -o "$T/c8.o"
# tools/nn2c: the header it writes holds exactly the file's bytes; it refuses a broken file
cat > "$T/dump.c" <<'EOF'
#include <stdio.h>
#include "m.h"
int main(void) { return fwrite(m, 1, m_len, stdout) != m_len; }
EOF
try "nn2c round trip" sh -c "cc -std=c99 -O2 tools/nn2c.c -lm -o $T/nn2c && $T/nn2c tests/ref/nnh_cnn.safetensors m > $T/m.h &&
    cc -std=c99 $W $T/dump.c -o $T/dump && $T/dump > $T/back && cmp $T/back tests/ref/nnh_cnn.safetensors"
head -c 300 tests/ref/nnh_cnn.safetensors > "$T/bad.safetensors"
try "nn2c refuses a truncated file" sh -c "! $T/nn2c $T/bad.safetensors m > /dev/null 2> $T/err && grep -q 'not a model' $T/err"
try "xor example, cc -std=c99 -O2" sh -c "cc -std=c99 -O2 examples/xor.c -lm -o $T/xor && $T/xor"
try "xor example, cc -std=c99 -O2 -fopenmp" sh -c "cc -std=c99 -O2 -fopenmp examples/xor.c -lm -o $T/xor && $T/xor"
# the README's example program, as printed there, against data/iris.csv
awk '/^```c$/{n++; if (n == 2) {on = 1; next}} /^```$/{on = 0} on' README.md > "$T/readme.c"
try "README example" sh -c "cc -std=c99 -O2 $W -I. $T/readme.c -lm -o $T/readme && $T/readme | grep -q 'training accuracy'"
}
run_part() { # folder, function: its output, then "N M" last
    T=$1; mkdir -p "$T"; pass=0; fail=0; t0=$(date +%s); $2; echo "($2: $(( $(date +%s) - t0 )) s)"; echo "$pass $fail"
}
(run_part "$T/1" part1) > "$T/part1.txt" 2>&1 &
(run_part "$T/2" part2) > "$T/part2.txt" 2>&1
wait
pass=0; fail=0
for p in 1 2; do
    sed '$d' "$T/part$p.txt"
    set -- $(tail -n 1 "$T/part$p.txt")
    pass=$((pass + $1)); fail=$((fail + $2))
done
rm -rf "$T"
echo "test_compile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
