#!/bin/sh
# Times `tlsfloor audit` against `nginx -T` on the same generated tree:
# 10,000 TLS server blocks in 1,000 files (the shape of BenchmarkAnalyze in
# audit/nginx/bench_test.go), several interleaved runs each, and prints the
# ratio audit / nginx -T. Both read every file; nginx -T also builds an
# SSL context per server and dumps the files, which is the price of its
# complete check, and is what an operator would otherwise run.
#
# Usage: testdata/bench/nginx.sh [runs]   (env: NGINX=/path/to/nginx)
set -eu

runs=${1:-5}
files=1000
per_file=10
here=$(cd "$(dirname "$0")/../.." && pwd)
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$nginx" ] || { echo "nginx not found (set NGINX=)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
etc="$tmp/etc/nginx"
mkdir -p "$etc/sites" "$tmp/logs" "$tmp/temp"

(cd "$here" && CGO_ENABLED=0 go build -o "$tmp/tlsfloor" ./cmd/tlsfloor)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench.test \
	-keyout "$etc/key.pem" -out "$etc/cert.pem" 2>/dev/null

cat >"$etc/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events { worker_connections 1024; }
http {
    access_log $tmp/logs/access.log;
    client_body_temp_path $tmp/temp/body;
    proxy_temp_path $tmp/temp/proxy;
    fastcgi_temp_path $tmp/temp/fastcgi;
    uwsgi_temp_path $tmp/temp/uwsgi;
    scgi_temp_path $tmp/temp/scgi;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_certificate $etc/cert.pem;
    ssl_certificate_key $etc/key.pem;
    server_names_hash_max_size 65536;
    server_names_hash_bucket_size 128;
    include $etc/sites/*.conf;
}
CONF

# Same shape as writeBenchTree: 100 loopback ports, a third of the servers
# with their own ssl_protocols, a fifth proxying to https.
awk -v files="$files" -v per="$per_file" -v dir="$etc/sites" 'BEGIN {
	n = 0
	for (f = 0; f < files; f++) {
		out = sprintf("%s/site%04d.conf", dir, f)
		for (s = 0; s < per; s++) {
			printf "server {\n    listen 127.0.0.1:%d ssl;\n    server_name s%d.example.test;\n", 20000 + n % 100, n > out
			if (n % 3 == 0) print "    ssl_protocols TLSv1.2 TLSv1.3;" > out
			print "    location / {\n        root /var/www;\n    }" > out
			if (n % 5 == 0) printf "    location /api/ {\n        proxy_pass https://127.0.0.1:%d;\n    }\n", 30000 + n % 100 > out
			print "}" > out
			n++
		}
		close(out)
	}
}'

now() { date +%s%N; }

run_audit() {
	# Exit 3 (non-compliant) is expected: the tree enables TLS 1.0/1.1.
	"$tmp/tlsfloor" audit --nginx-conf "$etc/nginx.conf" --nginx-version 1.22.1 --format json >"$tmp/report.json" || [ $? -eq 3 ]
}
run_nginx() {
	"$nginx" -T -q -c "$etc/nginx.conf" -p "$tmp" >"$tmp/dump.txt" 2>"$tmp/nginx.err"
}

# Check both work (and warm the page cache) before timing.
run_audit
run_nginx || { cat "$tmp/nginx.err" >&2; exit 1; }
servers=$(grep -o '"kind": "http server"' "$tmp/report.json" | wc -l)
echo "tree: $files files, $((files * per_file)) server blocks; audit reported $servers TLS server contexts"
echo "$("$nginx" -v 2>&1), $("$tmp/tlsfloor" version 2>/dev/null | head -1)"

# Interleave the two so that background load hits both alike; report the
# median of each (robust against a stray slow run) and the ratio.
: >"$tmp/audit.ms"
: >"$tmp/nginx.ms"
i=0
while [ "$i" -lt "$runs" ]; do
	s=$(now); run_audit; e=$(now); a=$(((e - s) / 1000000))
	s=$(now); run_nginx; e=$(now); n=$(((e - s) / 1000000))
	echo "run $((i + 1)): tlsfloor audit ${a} ms, nginx -T ${n} ms"
	echo "$a" >>"$tmp/audit.ms"
	echo "$n" >>"$tmp/nginx.ms"
	i=$((i + 1))
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ma=$(median "$tmp/audit.ms")
mn=$(median "$tmp/nginx.ms")
echo "median of $runs runs: tlsfloor audit $ma ms, nginx -T $mn ms"
awk -v a="$ma" -v n="$mn" 'BEGIN { printf "ratio audit/nginx -T: %.2f (goal <= 1.0)\n", a / n }'
