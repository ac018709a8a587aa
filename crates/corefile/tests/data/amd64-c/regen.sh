#!/bin/sh
# Regenerates the amd64 test core: a dynamically linked PIE C program with
# three threads that aborts. Needs gcc, gdb, zstd and core_pattern "core".
# The program runs from a throw-away directory so that the path NT_FILE
# records does not exist later: the test must find `crash.zst` here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=/tmp/corefile-testgen-amd64
rm -rf "$work" && mkdir -p "$work" && cd "$work"
gcc -O1 -g -pthread -o crash "$here/crash.c"
(ulimit -c unlimited; ./crash arg1 arg2 >/dev/null) || true
test -f core
gdb -batch -ex 'info proc mappings' -ex 'thread apply all info registers' \
    -ex 'thread apply all x/4xg $sp' -ex 'thread apply all x/2xg $pc' \
    ./crash core 2>/dev/null | grep -v '^[xyz]mm\|^k[0-7] \|^fs_base\|^gs_base' > "$here/gdb.txt"
zstd -q -19 -f core -o "$here/core.zst"
zstd -q -19 -f crash -o "$here/crash.zst"
cd / && rm -rf "$work"
