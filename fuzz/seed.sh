#!/bin/sh
# Seeds for the fuzz targets (fuzz/corpus/<target>/, not committed): see
# docs/robustness.md. Needs the `zstd` command.
set -eu
cd "$(dirname "$0")"
root=..
mkdir -p corpus/corefile_bytes corpus/gobinary_patch corpus/gocore_patch
# corefile_bytes: the first 64 KiB of cores (headers, notes, first segments;
# a cut core opens with a warning): corefile's own fixtures and corpus cores.
for c in "$root"/crates/corefile/tests/data/*/*core*.zst \
         "$root"/testdata/corpus/leak-go1.21.13-default-crash-amd64/core.zst \
         "$root"/testdata/corpus/zoo-go1.27.3-default-crash-arm64/core.zst \
         "$root"/testdata/corpus/zoo-go1.27.3-pie-crash-amd64/core.zst; do
  n=$(echo "$c" | tr '/' '_' | sed 's/^[._]*//')
  zstd -dc "$c" 2>/dev/null | head -c 65536 > "corpus/corefile_bytes/$n" || true
done
# gobinary_patch / gocore_patch: the first byte picks the base file; no patches.
i=0
while [ $i -lt 8 ]; do
  printf "$(printf '\\%03o' $i)" > corpus/gobinary_patch/base$i
  [ $i -lt 3 ] && printf "$(printf '\\%03o' $i)" > corpus/gocore_patch/base$i
  [ $i -lt 3 ] && printf "$(printf '\\%03o' $((i + 12)))" > corpus/gocore_patch/full$i
  i=$((i + 1))
done
ls corpus/*/ | head -40
