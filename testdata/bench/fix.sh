#!/bin/sh
# Times `tlsfloor fix --dry-run` (audit, plan, locate every edit in the
# original bytes, parse the edited files again, render the unified diff)
# against `tlsfloor audit` (the anchor) on the same generated trees: 10,000
# TLS sites in 1,000 files for nginx, and the same for Apache, with a legacy
# server-wide line and a legacy line in a third of the site files (the shape
# of BenchmarkFixPlan* in cmd/fix/bench_test.go). Runs are interleaved; the
# medians and their ratio fix/audit are printed. The goal is a ratio <= 2.
#
# Usage: testdata/bench/fix.sh [runs]
set -eu

runs=${1:-7}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
(cd "$here" && CGO_ENABLED=0 go build -o "$tmp/tlsfloor" ./cmd/tlsfloor)

# nginx tree under $tmp/n
mkdir -p "$tmp/n/etc/nginx/sites"
printf 'events {}\nhttp {\n    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n    include /etc/nginx/sites/*.conf;\n}\n' >"$tmp/n/etc/nginx/nginx.conf"
awk -v dir="$tmp/n/etc/nginx/sites" 'BEGIN {
	n = 0
	for (f = 0; f < 1000; f++) {
		out = sprintf("%s/site%04d.conf", dir, f)
		for (s = 0; s < 10; s++) {
			printf "server {\n    listen 127.0.0.1:%d ssl;\n    server_name s%d.example.test;\n", 20000 + n % 100, n > out
			if (n % 3 == 0 && s == 0) print "    ssl_protocols TLSv1 TLSv1.1 TLSv1.2; # old clients" > out
			print "    location / {\n        root /var/www;\n    }\n}" > out
			n++
		}
		close(out)
	}
}'

# Apache tree under $tmp/a
mkdir -p "$tmp/a/etc/httpd/conf" "$tmp/a/etc/httpd/conf.d"
printf 'ServerRoot /etc/httpd\nLoadModule ssl_module modules/mod_ssl.so\n<IfModule ssl_module>\n    SSLProtocol all -SSLv3\n</IfModule>\nIncludeOptional conf.d/*.conf\n' >"$tmp/a/etc/httpd/conf/httpd.conf"
awk -v dir="$tmp/a/etc/httpd/conf.d" 'BEGIN {
	n = 0
	for (f = 0; f < 1000; f++) {
		out = sprintf("%s/site%04d.conf", dir, f)
		for (s = 0; s < 10; s++) {
			printf "<VirtualHost 127.0.0.1:%d>\n    ServerName s%d.example.test\n    SSLEngine on\n", 20000 + n % 100, n > out
			if (n % 3 == 0 && s == 0) print "    SSLProtocol all -SSLv3 -TLSv1" > out
			print "    DocumentRoot /var/www\n</VirtualHost>" > out
			n++
		}
		close(out)
	}
}'

ms() { # run a command, print its wall time in milliseconds (exit 3 is expected)
	s=$(date +%s%N)
	"$@" >/dev/null 2>&1 || [ $? -eq 3 ]
	e=$(date +%s%N)
	echo $(((e - s) / 1000000))
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

for kind in nginx apache; do
	if [ $kind = nginx ]; then
		args="--root $tmp/n --nginx-conf /etc/nginx/nginx.conf --nginx-version 1.22.1"
	else
		args="--root $tmp/a --apache-conf /etc/httpd/conf/httpd.conf"
	fi
	: >"$tmp/audit.$kind"
	: >"$tmp/fix.$kind"
	# shellcheck disable=SC2086
	"$tmp/tlsfloor" fix --dry-run $args 2>/dev/null | grep -c '^+++ ' | sed "s/^/$kind: files changed by the fix: /"
	i=0
	while [ $i -lt "$runs" ]; do
		# shellcheck disable=SC2086
		ms "$tmp/tlsfloor" audit $args --format json >>"$tmp/audit.$kind"
		# shellcheck disable=SC2086
		ms "$tmp/tlsfloor" fix --dry-run $args >>"$tmp/fix.$kind"
		i=$((i + 1))
	done
	a=$(median <"$tmp/audit.$kind")
	f=$(median <"$tmp/fix.$kind")
	echo "$kind: audit ${a} ms, fix --dry-run ${f} ms (median of $runs), ratio fix/audit $(awk -v f="$f" -v a="$a" 'BEGIN { printf "%.2f", f / a }')"
done
