#!/bin/sh
# Times `tlsfloor audit --apache-conf TREE --format json` side by side with
# httpd's own config test (`apache2 -t -f TREE`, the anchor) on a generated
# tree of 10,000 TLS virtual hosts in 1,000 files, RUNS times each,
# alternating, and prints the mean wall time of each and the ratio
# tlsfloor/httpd (goal: <= 1.0).
#
# Needs: go, openssl, Debian's apache2 (mod_ssl in /usr/lib/apache2/modules).
# Usage: testdata/bench/apache.sh [RUNS]   (default 5)
set -eu
RUNS=${1:-5}
cd "$(dirname "$0")/../.."
APACHE2=${APACHE2:-$(command -v apache2 || echo /usr/sbin/apache2)}
[ -x "$APACHE2" ] || { echo "apache2 not found" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

CGO_ENABLED=0 go build -o "$work/tlsfloor" ./cmd/tlsfloor
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.test \
	-keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
TLSFLOOR_BENCH_TREE="$work/tree" TLSFLOOR_BENCH_CERT="$work/cert.pem" TLSFLOOR_BENCH_KEY="$work/key.pem" \
	go test ./audit/apache -run '^TestWriteBenchTree$' -count=1 >/dev/null
conf="$work/tree/httpd.conf"

# Both must accept the tree before timing means anything.
"$APACHE2" -t -f "$conf" >/dev/null 2>&1 || { "$APACHE2" -t -f "$conf"; exit 1; }
"$work/tlsfloor" audit --apache-conf "$conf" --format json >"$work/report.json" || [ $? -eq 3 ]
grep -q '"kind": "apache"' "$work/report.json" || { echo "no apache component in the report" >&2; exit 1; }

now() { date +%s%N; }
t_tls=0
t_httpd=0
i=0
while [ "$i" -lt "$RUNS" ]; do
	s=$(now)
	"$work/tlsfloor" audit --apache-conf "$conf" --format json >/dev/null || [ $? -eq 3 ]
	e=$(now)
	t_tls=$((t_tls + e - s))
	s=$(now)
	"$APACHE2" -t -f "$conf" >/dev/null 2>&1
	e=$(now)
	t_httpd=$((t_httpd + e - s))
	i=$((i + 1))
done
awk -v a="$t_tls" -v b="$t_httpd" -v n="$RUNS" 'BEGIN {
	printf "vhosts: 10000 in 1000 files, runs: %d each\n", n
	printf "tlsfloor audit --apache-conf --format json: %.1f ms (mean)\n", a / n / 1e6
	printf "apache2 -t -f (anchor):                     %.1f ms (mean)\n", b / n / 1e6
	printf "ratio tlsfloor/httpd: %.2f\n", a / b
}'
