#!/bin/sh
# Compares LinkedLibrary (Go benchmark) with the shell way to answer the same
# question, measured side by side in one run: which libcrypto does BINARY
# load and what version string does it carry?
#   anchor: ldd BINARY | grep libcrypto; strings -a LIB | grep -m1 'OpenSSL [0-9]'
# Usage: audit/openssl/testdata/bench/linked.sh [BINARY] [RUNS]   (from the repo root)
set -eu
bin=${1:-/usr/sbin/nginx}
runs=${2:-50}
for t in ldd strings grep awk; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
[ -e "$bin" ] || { echo "no $bin" >&2; exit 1; }

anchor() {
	lib=$(ldd "$bin" | awk '/libcrypto/ {print $3; exit}')
	strings -a "$lib" | grep -m1 -E '^(OpenSSL|LibreSSL) [0-9]' >/dev/null
}
anchor # warm the page cache for both sides
start=$(date +%s%N)
i=0
while [ $i -lt "$runs" ]; do anchor; i=$((i + 1)); done
end=$(date +%s%N)
anchor_ns=$(( (end - start) / runs ))

go_ns=$(TLSFLOOR_BENCH_BINARY=$bin go test ./audit/openssl -run '^$' -bench '^BenchmarkLinkedLibrary$' -benchtime "${runs}x" |
	awk '/^BenchmarkLinkedLibrary/ {print int($3); exit}')
[ -n "$go_ns" ] || { echo "benchmark did not run" >&2; exit 1; }

echo "binary:           $bin ($runs runs each)"
echo "ldd + strings:    $((anchor_ns / 1000)) us/op"
echo "LinkedLibrary:    $((go_ns / 1000)) us/op"
awk -v a="$anchor_ns" -v g="$go_ns" 'BEGIN { printf "ratio:            %.1fx faster than ldd + strings\n", a / g }'
