#!/bin/sh
# Regenerates the arm64 test core: a freestanding two-thread program run under
# qemu-aarch64, which writes cores without NT_FILE (only PRSTATUS, PRPSINFO
# and AUXV). Needs aarch64-linux-gnu-gcc, qemu-aarch64, gdb-multiarch, zstd.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=/tmp/corefile-testgen-arm64
rm -rf "$work" && mkdir -p "$work" && cd "$work"
aarch64-linux-gnu-gcc -O1 -g -static -nostdlib -o tiny "$here/tiny.c"
(ulimit -c unlimited; qemu-aarch64 ./tiny) || true
rm -f core # qemu's own core, if the host wrote one
set -- qemu_tiny_*.core
test -f "$1"
gdb-multiarch -batch -nx -ex 'info proc mappings' -ex 'thread apply all info registers' \
    -ex 'thread apply all x/4xg $sp' -ex 'thread apply all x/2xg $pc' \
    ./tiny "$1" 2>/dev/null > "$here/gdb.txt"
rm -f "$here"/qemu_tiny_*.core.zst
zstd -q -19 -f "$1" -o "$here/$1.zst"
zstd -q -19 -f tiny -o "$here/tiny.zst"
cd / && rm -rf "$work"
