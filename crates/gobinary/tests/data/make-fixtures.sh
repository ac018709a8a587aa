#!/usr/bin/env bash
# Rebuilds the committed fixtures: small stripped Go binaries (zstd) of tests/goprog
# plus what the Go tools say about them. Needs the toolchains under
# ~/.cache/gocore/toolchains (and Debian's golang-1.19 for the go1.19 fixture).
# Text layout is identical with and without -s, so `go tool nm` and
# `go tool addr2line` run on a `-w` twin of each stripped binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prog="$here/../goprog"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off
tc=~/.cache/gocore/toolchains
# name goroot goos goarch
fixtures=(
  "go1.19-linux-amd64 /usr/lib/go-1.19 linux amd64"
  "go1.21-linux-amd64 $tc/go1.21.13 linux amd64"
  "go1.22-linux-386 $tc/go1.22.10 linux 386"
  "go1.23-linux-arm $tc/go1.23.9 linux arm"
  "go1.24-windows-amd64 $tc/go1.24.11 windows amd64"
  "go1.25-linux-arm64 $tc/go1.25.5 linux arm64"
  "go1.26-darwin-arm64 $tc/go1.26.6 darwin arm64"
  "go1.27-linux-amd64 $tc/go1.27.3 linux amd64"
)
for f in "${fixtures[@]}"; do
  read -r name root goos goarch <<<"$f"
  go="$root/bin/go"
  [ -x "$go" ] || { echo "skip $name: no $go"; continue; }
  (cd "$prog" && GOOS=$goos GOARCH=$goarch "$go" build -buildvcs=false -trimpath -ldflags="-s -w" -o "$tmp/$name" .)
  (cd "$prog" && GOOS=$goos GOARCH=$goarch "$go" build -buildvcs=false -trimpath -ldflags="-w" -o "$tmp/$name.w" .)
  zstd -19 -q -f "$tmp/$name" -o "$here/$name.zst"
  (cd "$tmp" && "$go" version -m "$name") > "$here/$name.version-m"
  "$go" tool buildid "$tmp/$name" > "$here/$name.buildid"
  "$go" tool nm -n "$tmp/$name.w" | awk '$2 == "T" || $2 == "t" { a = $1; sub(/^ *[0-9a-f]+ [Tt] /, ""); print a, $0 }' > "$here/$name.nm"
  # Sample PCs: every 7th function's entry and the middle of its range.
  python3 - "$here/$name.nm" > "$tmp/pcs" <<'PY'
import sys
rows = [int(l.split()[0], 16) for l in open(sys.argv[1]) if l.strip()]
for i in range(6, len(rows) - 1, 7):
    e, n = rows[i], rows[i + 1]
    print("%x" % e)
    print("%x" % (e + (n - e) // 8 * 4))
PY
  "$go" tool addr2line "$tmp/$name.w" < "$tmp/pcs" | paste - - > "$tmp/lines"
  paste "$tmp/pcs" "$tmp/lines" > "$here/$name.addr2line"
  echo "made $name"
done
