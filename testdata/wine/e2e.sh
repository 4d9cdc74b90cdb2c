#!/usr/bin/env bash
# e2e.sh - tlsfloor's Windows registry support against a real (Wine)
# registry: the Windows test binaries, then the CLI end to end.
#
#   testdata/wine/e2e.sh            # from anywhere; the repo is found from this file
#
# Environment:
#   WINE_KIT   the Wine kit (wine-exec.sh + bcryptprimitives shim);
#              default ../shared/wine relative to the repository
#   CI=true    a missing tool fails the run instead of skipping it
#   KEEP=1     keep the temporary directory (prefix, binaries, outputs)
#
# Steps: build tlsfloor.exe; run the Windows tests of platform (registry
# contract against the real registry), audit/schannel and remediate/registry
# under Wine; put legacy values and gaps into a fresh prefix with `wine reg
# add`; `audit --format json` must report them; `fix --dry-run` and `fix`
# without a terminal must write nothing; `fix --yes` must write exactly the
# target values (checked with `wine reg query`); `rollback --last` must bring
# every value and key back (snapshots compared); the .reg backup must restore
# the same state through `reg import`; and a Windows 11 build number must
# add TLS 1.3. Exit status 0 means every check passed.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
repo=$(cd "$here/../.." && pwd)
kit=${WINE_KIT:-$repo/../shared/wine}

skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "e2e.sh: FAIL: $* (CI=true: missing tools fail the run)" >&2
		exit 1
	fi
	echo "e2e.sh: SKIP: $*" >&2
	exit 0
}

for tool in wine wineserver go; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not found; install: apt-get install wine wine64 binutils-mingw-w64-x86-64"
done
[ -x "$kit/wine-exec.sh" ] || skip "Wine kit not found at $kit (set WINE_KIT)"
kit=$(readlink -f "$kit")
exec_wine=$kit/wine-exec.sh

work=$(mktemp -d "${TMPDIR:-/tmp}/tlsfloor-wine-e2e.XXXXXX")
export WINEPREFIX=$work/prefix WINEDEBUG=-all
cleanup() {
	wineserver -k >/dev/null 2>&1 || true
	if [ "${KEEP:-}" = "1" ]; then
		echo "e2e.sh: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
start_all=$(date +%s%N)
step_start=$start_all
step() {
	local now
	now=$(date +%s%N)
	printf '   (%.1fs)\n' "$(((now - step_start) / 1000000))e-3"
	step_start=$now
	echo "== $*"
}

# tlsfloor runs the Windows binary; the exit status is kept in $rc.
tlsfloor() {
	set +e
	"$exec_wine" "$work/tlsfloor.exe" "$@" </dev/null
	rc=$?
	set -e
}

# regq prints the data of one DWORD value (0x...), or "missing".
regq() { # key value [/reg:32]
	local out
	if out=$(wine reg query "$1" /v "$2" ${3:-} 2>/dev/null); then
		awk -v n="$2" '$1 == n && $2 == "REG_DWORD" { print $3 }' <<<"${out//$'\r'/}"
	else
		echo missing
	fi
}

expect_value() { # key value want [/reg:32]
	local got
	got=$(regq "$1" "$2" "${4:-}")
	[ "$got" = "$3" ] || fail "$1 [$2] ${4:-}: got $got, want $3"
}

SCH='HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols'
NET4='HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319'
NET2='HKLM\SOFTWARE\Microsoft\.NETFramework\v2.0.50727'
WINHTTP='HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp'
INET_U='HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings'
INET_M='HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings'

# snapshot records every key and value tlsfloor may touch, in both views:
# each value line is prefixed with its key and the result sorted, so that
# only real differences count. An absent key shows as ABSENT.
snapshot() {
	local spec key view out
	for spec in "$SCH|/s|" "HKLM\\SOFTWARE\\Microsoft\\.NETFramework|/s|/reg:64" "HKLM\\SOFTWARE\\Microsoft\\.NETFramework|/s|/reg:32" \
		"$WINHTTP||/reg:64" "$WINHTTP||/reg:32" "$INET_M||/reg:64" "$INET_U||"; do
		IFS='|' read -r key rec view <<<"$spec"
		if out=$(wine reg query "$key" $rec $view 2>/dev/null); then
			awk -v tag="$view" '
				/^HKEY_/ { k = $0; print tag " " k; next }
				/^    / && k != "" { print tag " " k " ::" $0 }' <<<"${out//$'\r'/}"
		else
			echo "$view $key ABSENT"
		fi
	done | LC_ALL=C sort
}

echo "e2e.sh: repo $repo, kit $kit, work $work"
echo "== build tlsfloor.exe (windows/amd64)"
(cd "$repo" && GOOS=windows GOARCH=amd64 go build -o "$work/tlsfloor.exe" ./cmd/tlsfloor)

step "Windows test binaries under Wine (creates the prefix)"
(
	cd "$repo"
	# platform's other tests (file system, runner) are not Windows tests;
	# here only the registry contract, elevation and key paths run.
	GOOS=windows GOARCH=amd64 go test -count=1 -exec "$exec_wine" -run 'Registry|Elevation|PhysicalKey' ./platform/
	GOOS=windows GOARCH=amd64 go test -count=1 -exec "$exec_wine" ./audit/schannel/... ./remediate/registry/...
) || fail "Windows test binaries"

step "set up legacy values and gaps with wine reg add"
add() { wine reg add "$1" /v "$2" /t REG_DWORD /d "$3" /f ${4:-} >/dev/null; }
add "$SCH\\TLS 1.0\\Server" Enabled 1
add "$SCH\\TLS 1.0\\Server" DisabledByDefault 0
add "$SCH\\TLS 1.1\\Client" Enabled 0xffffffff
add "$SCH\\TLS 1.2\\Client" Enabled 0
add "$NET4" SchUseStrongCrypto 0 /reg:64
add "$WINHTTP" DefaultSecureProtocols 0xa80 /reg:64
add "$WINHTTP" DefaultSecureProtocols 0xa0 /reg:32
add "$INET_U" SecureProtocols 0xa0
add "$INET_M" SecureProtocols 0xa80 /reg:64
before=$(snapshot)
# TLS 1.2\Server, .NET v2 and the 32-bit .NET keys do not exist yet.
grep -q "ABSENT" <<<"$before" || fail "expected some absent keys before the fix"

step "audit --format json: findings"
tlsfloor audit --format json >"$work/audit.json"
[ "$rc" = 3 ] || fail "audit exit $rc, want 3"
for id in schannel-legacy-enabled schannel-tls12-disabled dotnet-strong-crypto-off winhttp-legacy-enabled \
	winhttp-tls12-missing wininet-legacy-enabled wininet-tls12-missing; do
	grep -q "\"id\": \"$id\"" "$work/audit.json" || fail "audit: no $id finding"
done
grep -q '"file": "HKLM\\\\SYSTEM\\\\CurrentControlSet\\\\Control\\\\SecurityProviders\\\\SCHANNEL\\\\Protocols\\\\TLS 1.0\\\\Server"' "$work/audit.json" ||
	fail "audit: finding file is not the registry key path"
grep -q '"file": "HKLM\\\\SOFTWARE\\\\Wow6432Node\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Internet Settings\\\\WinHttp"' "$work/audit.json" ||
	fail "audit: no finding for the 32-bit WinHTTP key"
grep -q '"source": "default"' "$work/audit.json" || fail "audit: no context from an OS default"
grep -q '"source": "directive"' "$work/audit.json" || fail "audit: no context from a set value"
grep -q '"kind": "schannel"' "$work/audit.json" && grep -q '"kind": "wininet"' "$work/audit.json" || fail "audit: components missing"

step "fix --dry-run and fix without a terminal write nothing"
tlsfloor fix --dry-run >"$work/dry-run.txt"
[ "$rc" = 3 ] || fail "fix --dry-run exit $rc, want 3"
grep -q 'DisabledByDefault  (missing) -> 1' "$work/dry-run.txt" || fail "dry-run diff lacks a (missing) -> line"
grep -q 'SecureProtocols  0xa0 (SSLv3 TLSv1.0) -> 0x800 (TLSv1.2)' "$work/dry-run.txt" || fail "dry-run diff lacks the HKCU mask change"
tlsfloor fix >/dev/null 2>"$work/no-tty.err"
[ "$rc" = 3 ] || fail "fix without --yes and without a terminal: exit $rc, want 3"
[ "$(snapshot)" = "$before" ] || fail "dry-run or unconfirmed fix changed the registry"

step "fix --yes --format json"
tlsfloor fix --yes --format json >"$work/fix.json"
[ "$rc" = 0 ] || fail "fix --yes exit $rc, want 0"
id=$(sed -n 's/.*"backup_id": "\([^"]*\)".*/\1/p' "$work/fix.json")
[ -n "$id" ] || fail "fix JSON has no backup_id"
grep -q '"status": "applied"' "$work/fix.json" || fail "fix JSON status is not applied"
grep -q '"restart_required": true' "$work/fix.json" || fail "fix JSON does not ask for a restart"
bdir=$WINEPREFIX/drive_c/ProgramData/tlsfloor/backups/$id
[ -f "$bdir/manifest.json" ] && [ -f "$bdir/backup.reg" ] || fail "backup files missing in $bdir"

step "wine reg query: the fixed values"
for p in 'SSL 2.0' 'SSL 3.0' 'TLS 1.0' 'TLS 1.1'; do
	for s in Client Server; do
		expect_value "$SCH\\$p\\$s" Enabled 0x0
		expect_value "$SCH\\$p\\$s" DisabledByDefault 0x1
	done
done
for s in Client Server; do
	expect_value "$SCH\\TLS 1.2\\$s" Enabled 0x1
	expect_value "$SCH\\TLS 1.2\\$s" DisabledByDefault 0x0
	expect_value "$SCH\\TLS 1.3\\$s" Enabled missing # Wine says Windows 7: no TLS 1.3
done
for view in /reg:64 /reg:32; do
	for k in "$NET4" "$NET2"; do
		expect_value "$k" SchUseStrongCrypto 0x1 $view
		expect_value "$k" SystemDefaultTlsVersions 0x1 $view
	done
	expect_value "$WINHTTP" DefaultSecureProtocols 0x800 $view
done
expect_value "$INET_U" SecureProtocols 0x800
expect_value "$INET_M" SecureProtocols 0x800 /reg:64
tlsfloor audit --format json >"$work/audit-after.json"
grep -q '"fixable": true' "$work/audit-after.json" && fail "audit after fix still has fixable findings"
tlsfloor fix --dry-run >"$work/again.txt"
[ "$rc" = 0 ] || fail "second fix --dry-run exit $rc, want 0 (nothing to change)"

step "rollback --last restores every value and deletes created keys"
tlsfloor rollback --last
[ "$rc" = 0 ] || fail "rollback --last exit $rc, want 0"
after=$(snapshot)
if [ "$after" != "$before" ]; then
	fail "registry after rollback differs from before the fix"
	diff <(echo "$before") <(echo "$after") >&2 || true
fi
expect_value "$SCH\\TLS 1.2\\Server" Enabled missing
wine reg query "$SCH\\TLS 1.2\\Server" >/dev/null 2>&1 && fail "key TLS 1.2\\Server created by the fix still exists"

step "the .reg backup restores the same state through reg import"
tlsfloor fix --yes >/dev/null
[ "$rc" = 0 ] || fail "second fix --yes exit $rc"
id2=$(ls -1 "$WINEPREFIX/drive_c/ProgramData/tlsfloor/backups" | grep -v '^\.' | sort | tail -n 1)
head -c 2 "$WINEPREFIX/drive_c/ProgramData/tlsfloor/backups/$id2/backup.reg" | od -An -tx1 | grep -q 'ff fe' || fail "backup.reg has no UTF-16LE BOM"
wine reg import "C:\\ProgramData\\tlsfloor\\backups\\$id2\\backup.reg" /reg:64 >/dev/null 2>&1 || fail "reg import backup.reg failed"
after=$(snapshot)
if [ "$after" != "$before" ]; then
	fail "registry after reg import of the backup differs from before the fix"
	diff <(echo "$before") <(echo "$after") >&2 || true
fi
tlsfloor rollback --list >"$work/list.txt"
grep -q "$id" "$work/list.txt" && grep -q "rolled-back" "$work/list.txt" || fail "rollback --list does not show $id as rolled-back"

step "Windows 11 build: TLS 1.3 is enabled too, and rolled back"
CV='HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
wine reg add "$CV" /v CurrentBuildNumber /t REG_SZ /d 26100 /f /reg:64 >/dev/null
wine reg add "$CV" /v CurrentBuild /t REG_SZ /d 26100 /f /reg:64 >/dev/null
before11=$(snapshot)
tlsfloor fix --yes >"$work/fix11.txt"
[ "$rc" = 0 ] || fail "fix on build 26100 exit $rc"
for s in Client Server; do
	expect_value "$SCH\\TLS 1.3\\$s" Enabled 0x1
	expect_value "$SCH\\TLS 1.3\\$s" DisabledByDefault 0x0
done
expect_value "$WINHTTP" DefaultSecureProtocols 0x2800 /reg:32
expect_value "$INET_U" SecureProtocols 0x2800
tlsfloor rollback --last >/dev/null
[ "$rc" = 0 ] || fail "rollback on build 26100 exit $rc"
[ "$(snapshot)" = "$before11" ] || fail "registry after the Windows 11 rollback differs"
wine reg add "$CV" /v CurrentBuildNumber /t REG_SZ /d 7601 /f /reg:64 >/dev/null
wine reg add "$CV" /v CurrentBuild /t REG_SZ /d 7601 /f /reg:64 >/dev/null

step "done"
end=$(date +%s%N)
printf 'e2e.sh: total %.1fs, %d failure(s)\n' "$(((end - start_all) / 1000000))e-3" "$failures"
[ "$failures" = 0 ]
