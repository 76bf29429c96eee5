#!/bin/sh
# The four MLPerf Tiny reference models (tests/m4/tiny_models.h; and the DS-CNN as PyTorch
# exported it to ONNX, "kwsonnx"), int8, on an emulated
# Cortex-M4: tests/m4/tiny_gen.c quantizes them on the host and writes each int8 model, an
# input and the host's output; tests/m4/tiny_m4.c is built for the Cortex-M4F with
# arm-none-eabi-gcc + newlib (NN_NO_MALLOC, NN_NO_STDIO, NN_NO_TRAINING, static arena,
# weights read in place from flash) and run by qemu-system-arm -M mps2-an386 with semihosting;
# its output must equal the host's bit for bit. With -icount shift=0 QEMU's virtual clock
# advances one nanosecond per executed instruction, so a timer gives the instructions an
# inference executes (calibrated against a loop of known length in the same run), and so for
# the same inference with plain multiply-accumulate loops (the baseline; same output too).
# Prints a table and ends with "mcu: N passed, N failed"; skipped without the tools
# (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm).
cd "$(dirname "$0")/.." || exit 1
B=build/m4
W="-Wall -Wextra -pedantic -Werror"
if ! command -v arm-none-eabi-gcc >/dev/null 2>&1 || ! command -v qemu-system-arm >/dev/null 2>&1; then
    echo "m4: skipped: no arm-none-eabi-gcc or qemu-system-arm"
    echo "mcu: 0 passed, 0 failed"; exit 0
fi
mkdir -p $B
pass=0; fail=0
# (the host's SIMD int8 kernels where the compiler has them: the M4's output checks those too)
HOSTFLAGS="-O2 -march=native"
cc $HOSTFLAGS -x c -c /dev/null -o /dev/null 2>/dev/null || HOSTFLAGS=-O2
if ! cc -std=c99 $HOSTFLAGS $W tests/m4/tiny_gen.c -lm -o $B/tiny_gen || ! $B/tiny_gen $B > $B/host.txt; then
    echo "FAIL m4: the host generator"; echo "mcu: 0 passed, 1 failed"; exit 1
fi
M4="-std=c99 -O2 -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections -fdata-sections $W
    -I. -nostartfiles -Wl,--gc-sections -T tests/m4/m4.ld --specs=nano.specs --specs=nosys.specs"
build() { # the measured program (-O2), and the library alone at -Os for its size
    rm -f $B/$1.elf $B/$1_os.elf
    arm-none-eabi-gcc $M4 -DTINY_HEADER="\"$B/$1.h\"" tests/m4/startup.c tests/m4/tiny_m4.c -o $B/$1.elf -lm > $B/$1.build 2>&1 &&
    arm-none-eabi-gcc $M4 -Os -DTINY_SIZE_ONLY -DTINY_HEADER="\"$B/$1.h\"" tests/m4/startup.c tests/m4/tiny_m4.c -o $B/$1_os.elf -lm >> $B/$1.build 2>&1
}
build kws & p1=$!; build ic & p2=$!; wait $p1; wait $p2
build ad & p1=$!; build vww & p2=$!; wait $p1; wait $p2
build kwsonnx
sym() { v=$(arm-none-eabi-nm -S $B/$1_os.elf | awk -v s=$2 '$4 == s { print $2 }'); echo ${v:-0}; } # (0: folded into the code)
echo "# arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion) -O2 -mcpu=cortex-m4 -mfloat-abi=hard; qemu-system-arm -M mps2-an386 -icount shift=0"
printf '%-7s %9s %11s %11s %10s %14s %14s  %s\n' model params "int8 file" "arena" "code -Os" "instructions" "plain loops" "vs host"
for n in kws ic ad vww kwsonnx; do
    if [ ! -f $B/$n.elf ] || [ ! -f $B/${n}_os.elf ]; then fail=$((fail + 1)); echo "FAIL m4 $n: build"; head -n 20 $B/$n.build; continue; fi
    out=$(timeout 300 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
          -semihosting-config enable=on,target=native -icount shift=0 -kernel $B/$n.elf 2>&1); rc=$?
    printf '%s\n' "$out" > $B/$n.out # (with the ticks per layer type: "profile")
    cal=$(printf '%s\n' "$out" | sed -n 's/^calibration: 2097152 instructions in ticks //p')
    ticks=$(printf '%s\n' "$out" | sed -n "s/^$n match load_ticks [0-9]* ticks //p")
    naive=$(printf '%s\n' "$out" | sed -n "s/^naive_ticks //p")
    if [ $rc -ne 0 ] || [ -z "$ticks" ] || [ -z "$cal" ] || [ -z "$naive" ]; then
        fail=$((fail + 1)); echo "FAIL m4 $n (status $rc):"; printf '%s\n' "$out" | head -n 5; continue
    fi
    pass=$((pass + 1))
    set -- $(grep "^$n " $B/host.txt)
    text=$(arm-none-eabi-size $B/${n}_os.elf | awk 'NR == 2 { print $1 }')
    code=$((text - 0x$(sym $n tiny_model) - 0x$(sym $n tiny_input) - 0x$(sym $n tiny_expect)))
    printf '%-7s %9s %11s %11s %10s %14s %14s  %s\n' $n $2 "$3 B" "$4 B" "$code B" $((ticks * 2097152 / cal)) \
        $((naive * 2097152 / cal)) "bit-identical"
done
echo "mcu: $pass passed, $fail failed"
[ $fail -eq 0 ]
