#!/bin/sh
# Remakes data/kjv.txt, the text examples/charlm.c trains on: the first 1,000,000 bytes (whole
# verses) of the King James Version of the Bible (1611; public domain, its copyright long
# expired), one verse a line without its reference, from Debian's bible-kjv package
# (apt-get install bible-kjv), whose text is the Bible Retrieval System's (see data/README.md).
set -e
cd "$(dirname "$0")/.."
bible -f gen1:1-rev22:21 | sed -E 's/^[0-9]?[A-Za-z]+[0-9]+:[0-9]+ //' |
    awk '{ n += length($0) + 1; if (n > 1000000) exit; print }' > data/kjv.txt
