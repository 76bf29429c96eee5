#!/bin/sh
# Sizes of the Cortex-M4 builds (make cross): base.elf is an empty main with the same flags
# (startup code and libc stubs); then pairs of ELF and the name of its model array.
# "code" is what nn.h and the example add: text - base text - model array - test digits.
base=$1; shift
bt=$(arm-none-eabi-size "$base" | awk 'NR == 2 { print $1 }')
echo "# arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion), -Os -mcpu=cortex-m4 -mthumb -mfloat-abi=hard, newlib-nano"
while [ $# -ge 2 ]; do
    elf=$1; model=$2; shift 2
    read -r text data bss rest <<EOT
$(arm-none-eabi-size "$elf" | awk 'NR == 2')
EOT
    msz=$((0x$(arm-none-eabi-nm -S "$elf" | awk -v s="$model" '$4 == s { print $2 }')))
    dsz=$((0x$(arm-none-eabi-nm -S "$elf" | awk '$4 == "digits" { print $2 }')))
    echo "cortex-m4 $(basename "$elf" .elf): text=$text data=$data bss=$bss model=$msz code=$((text - bt - msz - dsz))"
done
