#!/usr/bin/env bash
# probe.sh: time `tlsfloor probe` side by side with nmap ssl-enum-ciphers,
# sslscan and testssl.sh against one loopback nginx (the "legacy" fixture of
# ../shared/reference/probe.md §0: TLS 1.0-1.3, DEFAULT:@SECLEVEL=0, ffdhe2048),
# print medians, ratios and whether the accepted lists agree.
#
# The same nginx also serves the reference's "modern" fixture (§0, port
# 8444 there: TLS 1.2-1.3 with nginx's default HIGH:!aNULL:!MD5, which
# includes CAMELLIA, ARIA and CCM, and no DH parameters), where only the
# enumeration is timed against nmap: the legacy fixture is the hard case
# (DHE suites and two more versions mean more signatures per
# enumeration), the modern one the common case after a fix.
#
# Usage: testdata/bench/probe.sh [RUNS]     (default 5; testssl runs once)
# Needs: go, nginx, openssl, python3; nmap, sslscan, testssl and a C compiler
# (for the floor: testdata/bench/floor) are optional.
# Network: everything talks to 127.0.0.1 only. Third-party scanners run in a
# private mount namespace whose resolv.conf points at 127.0.0.1 (when
# unshare works), nmap gets -n, testssl gets --nodns none and
# NXCONNECT=127.0.0.1:0 so its start-up feature probes resolve nothing.
set -euo pipefail
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
NGINX_PID=""
cleanup() {
	if [ -n "$NGINX_PID" ]; then kill -INT "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

have() { command -v "$1" >/dev/null 2>&1; }
for t in go nginx openssl python3; do have "$t" || { echo "probe.sh: $t is required" >&2; exit 2; }; done

echo "building tlsfloor..." >&2
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/tlsfloor" ./cmd/tlsfloor)
# The floor for any Go command line tool: an empty static program, built
# with the same toolchain, started and reaped like the others.
mkdir -p "$WORK/empty"
printf 'package main\n\nfunc main() {}\n' >"$WORK/empty/main.go"
printf 'module empty\n' >"$WORK/empty/go.mod"
(cd "$WORK/empty" && CGO_ENABLED=0 GOFLAGS= go build -o "$WORK/empty-go" .)
# Two steps between it and tlsfloor: every tlsfloor package linked but
# nothing run (their initialisation), and the versions check and the
# enumeration through platform/probe alone (the handshakes without the
# command tree, and without cmd/probe/early's start of the hellos during
# initialisation, which only cmd/tlsfloor imports).
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/imports-only" ./testdata/bench/startup/imports &&
	CGO_ENABLED=0 go build -o "$WORK/probe-only" ./testdata/bench/startup/probeonly)

# Two floors for the enumeration: the same handshakes as `--ciphers`, on the
# same schedule (recorded by testdata/bench/floor/record), sent from one
# thread with epoll by a Go program that links every tlsfloor package
# (floor/goreplay: what an event loop in tlsfloor could reach) and, when a C
# compiler is installed, by a static C program (floor/replay.c: what any
# client could reach).
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/record" ./testdata/bench/floor/record &&
	CGO_ENABLED=0 go build -o "$WORK/goreplay" ./testdata/bench/floor/goreplay)
CC=""
have cc && CC=cc
have gcc && CC=gcc
if [ -n "$CC" ]; then
	"$CC" -O2 -static -o "$WORK/replay" "$ROOT/testdata/bench/floor/replay.c" 2>/dev/null ||
		"$CC" -O2 -o "$WORK/replay" "$ROOT/testdata/bench/floor/replay.c" || CC=""
fi

# Loopback-only resolver for the third-party scanners.
printf 'nameserver 127.0.0.1\n' >"$WORK/resolv.conf"
if unshare -m true 2>/dev/null; then
	isolated() { unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf" "$@"; }
	ISOLATION="mount namespace with a loopback-only resolv.conf"
else
	isolated() { "$@"; }
	ISOLATION="none (unshare unavailable); relying on -n / --nodns none / NXCONNECT"
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR=127.0.0.1:$PORT
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR2=127.0.0.1:$PORT2
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$WORK/dh.pem" 2>/dev/null
USER_LINE=""; [ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >"$WORK/nginx.conf" <<CONF
$USER_LINE
daemon off;
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy; fastcgi_temp_path $WORK/fcgi;
    uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
    server {
        listen $ADDR ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
        ssl_ciphers 'DEFAULT:@SECLEVEL=0';
        ssl_dhparam $WORK/dh.pem;
        return 200 "ok\n";
    }
    server {
        listen $ADDR2 ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        return 200 "ok\n";
    }
}
CONF
nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" &
NGINX_PID=$!
for _ in $(seq 100); do
	if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then break; fi
	sleep 0.05
done

TF="$WORK/tlsfloor"
echo "warming up..." >&2
"$TF" probe "$ADDR" >/dev/null 2>&1 || true

# Accepted lists: ours (JSON), nmap (XML), sslscan (text), testssl (text).
# ours_lists ADDR NAME: tlsfloor's accepted versions ($NAME.v, one line)
# and suite/version pairs ($NAME.c, sorted), from its JSON.
ours_lists() {
	"$TF" probe --ciphers --format json "$1" >"$WORK/$2.json" || true
	python3 - "$WORK/$2.json" "$WORK/$2" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["targets"][0]
with open(sys.argv[2] + ".v", "w") as f:
    print(" ".join(v["protocol"] for v in t["versions"] if v["accepted"]), file=f)
with open(sys.argv[2] + ".c", "w") as f:
    for c in sorted((c["protocol"], c["name"]) for c in t["ciphers"]):
        print(*c, file=f)
PY
}
ours_lists "$ADDR" ours
ours_lists "$ADDR2" ours2
OURS_V=$(cat "$WORK/ours.v")

# Timing: one python3 process, inside the same namespace as every tool, runs
# the commands round-robin (so background load hits all alike) and prints
# each one's median wall time in ms. Process start-up counts for every tool.
# It also records, per command, the mean CPU time of the command's own
# processes (rusage of the waited-for children) and of the nginx workers
# during its runs (/proc/PID/schedstat): the server's share is work no client
# can avoid (a signature per ECDHE/DHE handshake) and bounds the wall time
# on a small host.
FLOORS=""
if "$WORK/record" "$ADDR" >"$WORK/schedule" 2>"$WORK/record.err" && "$WORK/goreplay" "$WORK/schedule" "$PORT" &&
	{ [ -z "$CC" ] || "$WORK/replay" "$WORK/schedule" "$PORT"; }; then
	FLOORS=yes
	FLOOR_NOTE="$(wc -l <"$WORK/schedule") connections replayed"
else
	FLOOR_NOTE="recording or replay failed: $(cat "$WORK/record.err")"
fi
TESTSSL=""
have testssl && TESTSSL=testssl
have testssl.sh && TESTSSL=testssl.sh
# tlsfloor runs five times as often as the scanners: its runs take
# milliseconds, and more of them steady its median.
{
	echo "empty_go $((5 * RUNS)) $WORK/empty-go"
	echo "imports_only $((5 * RUNS)) $WORK/imports-only"
	echo "probe_only $((5 * RUNS)) $WORK/probe-only $ADDR"
	echo "probe_only_ciphers $((5 * RUNS)) $WORK/probe-only --ciphers $ADDR"
	echo "tlsfloor $((5 * RUNS)) $TF probe $ADDR"
	echo "tlsfloor_ciphers $((5 * RUNS)) $TF probe --ciphers $ADDR"
	echo "tlsfloor_modern $((5 * RUNS)) $TF probe --ciphers $ADDR2"
	[ -n "$FLOORS" ] && echo "floor_goreplay $((5 * RUNS)) $WORK/goreplay $WORK/schedule $PORT"
	[ -n "$FLOORS" ] && [ -n "$CC" ] && echo "floor_replay $((5 * RUNS)) $WORK/replay $WORK/schedule $PORT"
	# nmap as ../shared/reference/probe.md §1 timed it (the scan type it
	# picks itself: a SYN scan as root, a connect scan otherwise), and with
	# a connect scan (-sT) forced, which is how it counted connections.
	have nmap && echo "nmap $RUNS nmap -n -Pn -p $PORT --script ssl-enum-ciphers 127.0.0.1"
	have nmap && echo "nmap_sT $RUNS nmap -n -Pn -sT -p $PORT --script ssl-enum-ciphers 127.0.0.1"
	have nmap && echo "nmap_modern $RUNS nmap -n -Pn -p $PORT2 --script ssl-enum-ciphers 127.0.0.1"
	have sslscan && echo "sslscan $RUNS sslscan --no-colour $ADDR"
	[ -n "$TESTSSL" ] && echo "testssl 1 $TESTSSL --warnings batch --nodns none --color 0 --quiet --protocols $ADDR"
} >"$WORK/cmds"
WORKERS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
NXCONNECT=127.0.0.1:0 isolated python3 - "$WORK/cmds" "$WORKERS" >"$WORK/times" <<'PY'
import os, resource, statistics, subprocess, sys, time
jobs = []
for line in open(sys.argv[1]):
    name, runs, *argv = line.split()
    jobs.append((name, int(runs), argv, [], [0.0, 0]))
workers = sys.argv[2].split()
tick = 1000 / os.sysconf("SC_CLK_TCK")
def server_ms():
    # /proc/PID/schedstat: time on CPU in ns; /proc/PID/stat ticks if absent.
    n = 0.0
    for p in workers:
        try:
            n += int(open(f"/proc/{p}/schedstat").read().split()[0]) / 1e6
        except (OSError, ValueError, IndexError):
            try:
                f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
                n += (int(f[11]) + int(f[12])) * tick
            except OSError:
                pass
    return n
def own_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000
for i in range(max(j[1] for j in jobs)):
    for name, runs, argv, xs, cpu in jobs:
        if i < runs:
            c0, s0 = own_cpu(), server_ms()
            t = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            xs.append((time.perf_counter() - t) * 1000)
            cpu[0] += own_cpu() - c0
            cpu[1] += server_ms() - s0
for name, runs, _, xs, cpu in jobs:
    print(name, f"{statistics.median(xs):.1f}", f"{cpu[0] / runs:.1f}", f"{cpu[1] / runs:.1f}")
PY
declare -A MS CPU SRV
while read -r name ms cpu srv; do MS[$name]=$ms; CPU[$name]=$cpu; SRV[$name]=$srv; done <"$WORK/times"

NMAP_AGREE_V="-" NMAP_AGREE_C="-" NMAP_AGREE_MODERN="-" SSLSCAN_AGREE="-" TESTSSL_AGREE="-"
# nmap_lists PORT NAME: nmap's accepted versions ($NAME.v) and suite/version
# pairs ($NAME.c), in the same shape as ours_lists.
nmap_lists() {
	isolated nmap -n -Pn -sT -p "$1" --script ssl-enum-ciphers -oX "$WORK/$2.xml" 127.0.0.1 >/dev/null 2>&1 || true
	python3 - "$WORK/$2.xml" "$WORK/$2" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
versions, pairs = [], []
for proto in root.iter("table"):
    k = proto.get("key", "")
    if not k.startswith(("TLSv", "SSLv")):
        continue
    versions.append(k)
    for sub in proto.findall("table"):
        if sub.get("key") != "ciphers":
            continue
        for c in sub.findall("table"):
            for e in c.findall("elem"):
                if e.get("key") == "name":
                    pairs.append((k, e.text.replace("TLS_AKE_WITH_", "TLS_", 1)))
with open(sys.argv[2] + ".v", "w") as f:
    print(" ".join(versions), file=f)
with open(sys.argv[2] + ".c", "w") as f:
    for c in sorted(pairs):
        print(*c, file=f)
PY
}
# agree OURS THEIRS: "yes (N suite/version pairs)", or "NO" and the diff on stderr.
agree() {
	if cmp -s "$WORK/$1.c" "$WORK/$2.c"; then echo "yes ($(wc -l <"$WORK/$1.c") suite/version pairs)"; else
		echo "NO"; diff "$WORK/$1.c" "$WORK/$2.c" >&2 || true; fi
}
if have nmap; then
	nmap_lists "$PORT" nmap
	nmap_lists "$PORT2" nmap2
	NMAP_V=$(cat "$WORK/nmap.v")
	[ "$NMAP_V" = "$OURS_V" ] && NMAP_AGREE_V=yes || NMAP_AGREE_V="NO (nmap: $NMAP_V)"
	NMAP_AGREE_C=$(agree ours nmap)
	NMAP_AGREE_MODERN=$(agree ours2 nmap2)
fi
if have sslscan; then
	SSLSCAN_V=$(isolated sslscan --no-colour "$ADDR" 2>/dev/null | awk '/^(SSL|TLS)v[0-9.]+ +enabled/ {v=$1; if (v=="TLSv1.0") v="TLSv1.0"; printf "%s%s", sep, v; sep=" "}')
	[ "$SSLSCAN_V" = "$OURS_V" ] && SSLSCAN_AGREE=yes || SSLSCAN_AGREE="NO (sslscan: $SSLSCAN_V)"
fi
if [ -n "$TESTSSL" ]; then
	ts_run() { NXCONNECT=127.0.0.1:0 isolated "$TESTSSL" --warnings batch --nodns none --color 0 --quiet --protocols "$ADDR"; }
	TESTSSL_V=$(ts_run 2>/dev/null | awk '
		/^ *TLS 1 +offered/ {o=o" TLSv1.0"} /^ *TLS 1.1 +offered/ {o=o" TLSv1.1"}
		/^ *TLS 1.2 +offered/ {o=o" TLSv1.2"} /^ *TLS 1.3 +offered/ {o=o" TLSv1.3"}
		/^ *SSLv2 +offered/ {o=o" SSLv2"} /^ *SSLv3 +offered/ {o=o" SSLv3"}
		END {sub(/^ /, "", o); print o}')
	[ "$TESTSSL_V" = "$OURS_V" ] && TESTSSL_AGREE=yes || TESTSSL_AGREE="NO (testssl: $TESTSSL_V)"
fi

# One decimal, so that a ratio just under a goal is not rounded up to it.
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a/b:.1f}x')" "$1" "$2"; }
# goal A B MIN: "met" when A/B >= MIN, else "missed".
goal() { python3 -c "import sys; a, b, m = map(float, sys.argv[1:]); print('met' if a / b >= m else 'MISSED')" "$1" "$2" "$3"; }
echo
echo "timing: medians, run round-robin, process start-up included; runs: tlsfloor $((5 * RUNS)), nmap and sslscan $RUNS, testssl 1; running as uid $(id -u)"
echo "target: nginx $(nginx -v 2>&1 | sed 's/.*\///') legacy fixture on $ADDR, modern fixture on $ADDR2; $(nproc) cores"
echo "scanner isolation: $ISOLATION"
echo "tlsfloor accepted versions: $OURS_V; suite/version pairs: $(wc -l <"$WORK/ours.c")"
echo
printf '%-34s %10s %14s  %s\n' "command" "median ms" "tlsfloor is" "same accepted list"
printf '%-34s %10s %14s  %s\n' "empty static Go program (floor)" "${MS[empty_go]}" "-" "-"
printf '%-34s %10s %14s  %s\n' "  + every tlsfloor package linked" "${MS[imports_only]}" "-" "-"
printf '%-34s %10s %14s  %s\n' "  versions via platform/probe only" "${MS[probe_only]}" "-" "-"
printf '%-34s %10s %14s  %s\n' "tlsfloor probe (versions)" "${MS[tlsfloor]}" "-" "-"
printf '%-34s %10s %14s  %s\n' "  the same via platform/probe only" "${MS[probe_only_ciphers]}" "-" "-"
printf '%-34s %10s %14s  %s\n' "tlsfloor probe --ciphers" "${MS[tlsfloor_ciphers]}" "-" "-"
printf '%-34s %10s %14s  %s\n' "  same handshakes, Go event loop" "${MS[floor_goreplay]:--}" "-" "floor: $FLOOR_NOTE"
printf '%-34s %10s %14s  %s\n' "  same handshakes, C event loop" "${MS[floor_replay]:--}" "-" "floor: ${CC:-no C compiler}"
if [ -n "${MS[nmap]:-}" ]; then
	printf '%-34s %10s %14s  %s\n' "nmap ssl-enum-ciphers vs versions" "${MS[nmap]}" "$(ratio "${MS[nmap]}" "${MS[tlsfloor]}") faster" "versions: $NMAP_AGREE_V"
	printf '%-34s %10s %14s  %s\n' "nmap ssl-enum-ciphers vs --ciphers" "${MS[nmap]}" "$(ratio "${MS[nmap]}" "${MS[tlsfloor_ciphers]}") faster" "suites: $NMAP_AGREE_C"
	printf '%-34s %10s %14s  %s\n' "nmap -sT vs versions" "${MS[nmap_sT]}" "$(ratio "${MS[nmap_sT]}" "${MS[tlsfloor]}") faster" "-"
	printf '%-34s %10s %14s  %s\n' "nmap -sT vs --ciphers" "${MS[nmap_sT]}" "$(ratio "${MS[nmap_sT]}" "${MS[tlsfloor_ciphers]}") faster" "-"
	echo "goals against nmap ssl-enum-ciphers: versions >= 50x $(goal "${MS[nmap]}" "${MS[tlsfloor]}" 50), --ciphers >= 20x $(goal "${MS[nmap]}" "${MS[tlsfloor_ciphers]}" 20)"
	printf '%-34s %10s %14s  %s\n' "modern fixture: tlsfloor --ciphers" "${MS[tlsfloor_modern]}" "-" "-"
	printf '%-34s %10s %14s  %s\n' "modern fixture: nmap vs --ciphers" "${MS[nmap_modern]}" "$(ratio "${MS[nmap_modern]}" "${MS[tlsfloor_modern]}") faster" "suites: $NMAP_AGREE_MODERN"
	echo "goal on the modern fixture: --ciphers >= 20x $(goal "${MS[nmap_modern]}" "${MS[tlsfloor_modern]}" 20)"
	[ -n "${MS[floor_goreplay]:-}" ] && echo "floors of --ciphers against nmap ssl-enum-ciphers: Go event loop $(ratio "${MS[nmap]}" "${MS[floor_goreplay]}")${MS[floor_replay]:+, C $(ratio "${MS[nmap]}" "${MS[floor_replay]}")} (the same handshakes, no parsing)"
fi
[ -n "${MS[sslscan]:-}" ] && printf '%-34s %10s %14s  %s\n' "sslscan vs versions" "${MS[sslscan]}" "$(ratio "${MS[sslscan]}" "${MS[tlsfloor]}") faster" "versions: $SSLSCAN_AGREE"
[ -n "${MS[testssl]:-}" ] && printf '%-34s %10s %14s  %s\n' "testssl --protocols vs versions" "${MS[testssl]}" "$(ratio "${MS[testssl]}" "${MS[tlsfloor]}") faster" "versions: $TESTSSL_AGREE"
echo
echo "CPU per run, mean ms (the command's own processes; the nginx workers meanwhile):"
for name in empty_go imports_only probe_only tlsfloor probe_only_ciphers tlsfloor_ciphers tlsfloor_modern floor_goreplay floor_replay nmap nmap_sT nmap_modern sslscan testssl; do
	[ -n "${MS[$name]:-}" ] || continue
	printf '  %-18s own %8s   nginx %8s\n' "$name" "${CPU[$name]}" "${SRV[$name]}"
done
exit 0
