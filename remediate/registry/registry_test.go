package registry

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/schannel"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// host builds a fake 64-bit Windows of the given build with a realistic mix:
// TLS 1.0 explicitly on for the server, SSL 3.0 client off, .NET v4 key
// present but empty, WinINet set for the machine to TLS 1.0-1.2, and the
// SSL 2.0\Client key Windows (and Wine) ship with.
func host(t *testing.T, build int) *platformtest.Registry {
	t.Helper()
	reg := platformtest.NewRegistry()
	reg.SetString(platform.LocalMachine, platform.View64, schannel.CurrentVersionKey, "CurrentBuildNumber", strconv.Itoa(build))
	reg.SetString(platform.LocalMachine, platform.View64, schannel.CurrentVersionKey, "ProductName", "Windows 10 Pro")
	reg.SetString(platform.LocalMachine, platform.View64, schannel.CurrentVersionKey, "InstallationType", "Client")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := reg.CreateKey(platform.LocalMachine, platform.View64, `SOFTWARE\Wow6432Node\Microsoft`)
	must(err)
	_, err = reg.CreateKey(platform.CurrentUser, platform.View64, `Software\Microsoft\Windows\CurrentVersion`)
	must(err)
	must(reg.SetDWORD(platform.LocalMachine, platform.View64, schannel.SideKey(audit.SSLv2, schannel.Client), "DisabledByDefault", 1))
	must(reg.SetDWORD(platform.LocalMachine, platform.View64, schannel.SideKey(audit.TLS10, schannel.Server), "Enabled", 1))
	must(reg.SetDWORD(platform.LocalMachine, platform.View64, schannel.SideKey(audit.SSLv3, schannel.Client), "Enabled", 0))
	_, err = reg.CreateKey(platform.LocalMachine, platform.View64, schannel.DotNet4Key)
	must(err)
	must(reg.SetDWORD(platform.LocalMachine, platform.View64, schannel.InternetSettingsKey, "SecureProtocols", 0xA80))
	reg.Writes = 0
	return reg
}

func deps(reg platform.Registry) Deps {
	clock := time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC)
	return Deps{Reg: reg, Elevation: platformtest.Elevation(true), Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
}

func plan(t *testing.T, reg platform.Registry, opt Options) *Plan {
	t.Helper()
	p, err := NewPlan(reg, opt)
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	return p
}

func change(p *Plan, pathSuffix, name string) *Change {
	for i, c := range p.Changes {
		if strings.HasSuffix(c.Path, pathSuffix) && c.Name == name {
			return &p.Changes[i]
		}
	}
	return nil
}

func TestPlanWindows10(t *testing.T) {
	reg := host(t, 19045)
	p := plan(t, reg, Options{})
	if p.Target != audit.Set(audit.TLS12) {
		t.Errorf("target %v", p.Target)
	}
	// 5 protocols x 2 sides x 2 values, minus SSL 2.0 client
	// DisabledByDefault=1 and SSL 3.0 client Enabled=0, which are already
	// right; 4 .NET keys x 2; 2 WinHTTP; WinINet HKCU and HKLM (which exists).
	if want := 5*2*2 - 2 + 8 + 2 + 2; len(p.Changes) != want {
		t.Errorf("%d changes, want %d", len(p.Changes), want)
	}
	if c := change(p, `TLS 1.0\Server`, "Enabled"); c == nil || c.Old == nil || *c.Old != 1 || c.New != 0 {
		t.Errorf("TLS 1.0 server Enabled change: %+v", c)
	}
	if c := change(p, `TLS 1.2\Client`, "DisabledByDefault"); c == nil || c.Old != nil || c.New != 0 {
		t.Errorf("TLS 1.2 client DisabledByDefault change: %+v", c)
	}
	if c := change(p, `TLS 1.3\Client`, "Enabled"); c != nil {
		t.Errorf("TLS 1.3 planned on Windows 10: %+v", c)
	}
	if c := change(p, `Wow6432Node\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp`, "DefaultSecureProtocols"); c == nil || c.New != 0x800 {
		t.Errorf("32-bit WinHTTP: %+v", c)
	}
	if c := change(p, `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings`, "SecureProtocols"); c == nil || *c.Old != 0xA80 || c.New != 0x800 {
		t.Errorf("machine SecureProtocols: %+v", c)
	}
	if !p.RestartRequired() {
		t.Error("SChannel changes without restart note")
	}
	var b strings.Builder
	if err := p.WriteDiff(&b); err != nil {
		t.Fatal(err)
	}
	diff := b.String()
	for _, want := range []string{
		`HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.0\Server` + "\n  Enabled            1 -> 0\n  DisabledByDefault  (missing) -> 1\n",
		"  SecureProtocols  0xa80 (TLSv1.0 TLSv1.1 TLSv1.2) -> 0x800 (TLSv1.2)\n",
		"  SecureProtocols  (missing) -> 0x800 (TLSv1.2)\n",
		"note: TLS 1.3 left alone: Windows 10 Pro (build 19045) does not support it\n",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
}

func TestPlanTLS13(t *testing.T) {
	reg := host(t, 26100)
	p := plan(t, reg, Options{})
	if p.Target != audit.Set(audit.TLS12, audit.TLS13) {
		t.Fatalf("target %v", p.Target)
	}
	if c := change(p, `TLS 1.3\Server`, "Enabled"); c == nil || c.New != 1 {
		t.Errorf("TLS 1.3 server: %+v", c)
	}
	if c := change(p, `Internet Settings\WinHttp`, "DefaultSecureProtocols"); c == nil || c.New != 0x2800 {
		t.Errorf("WinHTTP mask: %+v", c)
	}
	// --min-version 1.3 turns TLS 1.2 off as well.
	p = plan(t, reg, Options{MinProtocol: audit.TLS13})
	if c := change(p, `TLS 1.2\Client`, "Enabled"); c == nil || c.New != 0 {
		t.Errorf("TLS 1.2 with --min-version 1.3: %+v", c)
	}
	// --tls13 off leaves the TLS 1.3 keys alone.
	p = plan(t, reg, Options{TLS13: TLS13Off})
	if c := change(p, `TLS 1.3\Client`, "Enabled"); c != nil {
		t.Errorf("TLS 1.3 planned with --tls13 off: %+v", c)
	}
	// Windows 10 cannot be asked for TLS 1.3.
	for _, opt := range []Options{{TLS13: TLS13On}, {MinProtocol: audit.TLS13}} {
		if _, err := NewPlan(host(t, 19045), opt); !errors.Is(err, ErrTLS13Unsupported) {
			t.Errorf("%+v on Windows 10: err = %v", opt, err)
		}
	}
}

func TestPlanWrongType(t *testing.T) {
	reg := host(t, 19045)
	reg.SetString(platform.LocalMachine, platform.View64, schannel.WinHTTPKey, "DefaultSecureProtocols", "0x800")
	_, err := NewPlan(reg, Options{})
	var ce *audit.ConfigError
	if !errors.As(err, &ce) || ce.Path != `HKLM\`+schannel.WinHTTPKey {
		t.Fatalf("err = %v, want a ConfigError at the WinHTTP key", err)
	}
}

// TestApplyAndRollbackRoundTrip fixes a host, checks that a new audit finds
// nothing fixable and a new plan is empty, then rolls back and compares the
// whole registry with the state before the fix.
func TestApplyAndRollbackRoundTrip(t *testing.T) {
	for _, build := range []int{7601, 19045, 26100} {
		t.Run(strconv.Itoa(build), func(t *testing.T) {
			reg := host(t, build)
			before := reg.Dump()
			dir := platformtest.TempDir(t)
			p := plan(t, reg, Options{})
			res, err := Apply(context.Background(), deps(reg), p, ApplyOptions{BackupDir: dir, ToolVersion: "test"})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if res.Written != len(p.Changes) || !res.RestartRequired {
				t.Errorf("result %+v", res)
			}
			rep, err := schannel.Evaluate(reg, audit.DefaultPolicy())
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range rep.Findings {
				if f.Fixable {
					t.Errorf("after fix: %s %s: %s", f.ID, f.File, f.Message)
				}
			}
			if again := plan(t, reg, Options{}); !again.Empty() {
				t.Errorf("second plan not empty: %+v", again.Changes)
			}
			m, err := LoadManifest(res.Dir)
			if err != nil || m.Status != StatusApplied || len(m.Values) != len(p.Changes) || len(m.CreatedKeys) == 0 {
				t.Fatalf("manifest %+v, %v", m, err)
			}
			rb, err := Rollback(context.Background(), deps(reg), RollbackOptions{BackupDir: dir, Last: true})
			if err != nil {
				t.Fatalf("Rollback: %v", err)
			}
			if rb.ID != res.ID {
				t.Errorf("rolled back %s, want %s", rb.ID, res.ID)
			}
			if after := reg.Dump(); after != before {
				t.Errorf("registry after rollback differs:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if _, err := Rollback(context.Background(), deps(reg), RollbackOptions{BackupDir: dir, Last: true}); !errors.Is(err, ErrNoBackup) {
				t.Errorf("second rollback --last: %v, want ErrNoBackup", err)
			}
			if _, err := Rollback(context.Background(), deps(reg), RollbackOptions{BackupDir: dir, ID: res.ID}); err == nil || !strings.Contains(err.Error(), "already rolled back") {
				t.Errorf("rollback of a rolled-back id: %v", err)
			}
		})
	}
}

// TestPartialFailureRestores fails the Nth write for every N and checks that
// the registry is back to its state before the fix each time.
func TestPartialFailureRestores(t *testing.T) {
	n := len(plan(t, host(t, 19045), Options{}).Changes)
	for fail := 1; fail <= n; fail++ {
		reg := host(t, 19045)
		before := reg.Dump()
		p := plan(t, reg, Options{})
		reg.Writes, reg.FailWrite = 0, fail
		dir := platformtest.TempDir(t)
		_, err := Apply(context.Background(), deps(reg), p, ApplyOptions{BackupDir: dir})
		var rb *RolledBackError
		if !errors.As(err, &rb) || !errors.Is(err, platformtest.ErrAccessDenied) {
			t.Fatalf("write %d fails: err = %v, want RolledBackError", fail, err)
		}
		if after := reg.Dump(); after != before {
			t.Fatalf("write %d fails: registry not restored:\nbefore:\n%s\nafter:\n%s", fail, before, after)
		}
		m, err := LoadManifest(rb.Dir)
		if err != nil || m.Status != StatusRolledBack {
			t.Fatalf("manifest after restore: %+v, %v", m, err)
		}
	}
}

func TestRestoreFailureNamesBackup(t *testing.T) {
	reg := host(t, 19045)
	p := plan(t, reg, Options{})
	// Write 5 fails and so does everything after it, including the restore.
	reg.Writes, reg.FailWritesFrom = 0, 5
	_, err := Apply(context.Background(), deps(reg), p, ApplyOptions{BackupDir: platformtest.TempDir(t)})
	var rf *RollbackFailedError
	if !errors.As(err, &rf) {
		t.Fatalf("err = %v, want RollbackFailedError", err)
	}
	if !strings.Contains(err.Error(), filepath.Join(rf.Dir, RegFileName)) {
		t.Errorf("message does not name the backup: %v", err)
	}
	m, err := LoadManifest(rf.Dir)
	if err != nil || m.Status != StatusRollbackFailed {
		t.Errorf("manifest %+v, %v", m, err)
	}
	// Once writes work again, rollback --last finishes the job.
	before := host(t, 19045).Dump()
	reg.FailWritesFrom = 0
	if _, err := Rollback(context.Background(), deps(reg), RollbackOptions{BackupDir: filepath.Dir(rf.Dir), Last: true}); err != nil {
		t.Fatalf("Rollback after a failed restore: %v", err)
	}
	if after := reg.Dump(); after != before {
		t.Errorf("not restored:\n%s\nwant:\n%s", after, before)
	}
}

func TestNotElevatedWritesNothing(t *testing.T) {
	reg := host(t, 19045)
	p := plan(t, reg, Options{})
	d := deps(reg)
	d.Elevation = platformtest.Elevation(false)
	dir := filepath.Join(platformtest.TempDir(t), "backups")
	_, err := Apply(context.Background(), d, p, ApplyOptions{BackupDir: dir})
	if !errors.Is(err, ErrNotElevated) || !strings.Contains(err.Error(), "elevated prompt") {
		t.Fatalf("err = %v, want ErrNotElevated", err)
	}
	if reg.Writes != 0 {
		t.Errorf("%d writes while not elevated", reg.Writes)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup dir created while not elevated: %v", err)
	}
	if _, err := Rollback(context.Background(), d, RollbackOptions{BackupDir: dir, Last: true}); !errors.Is(err, ErrNotElevated) {
		t.Errorf("rollback not elevated: %v", err)
	}
}

func TestDrift(t *testing.T) {
	reg := host(t, 19045)
	dir := platformtest.TempDir(t)
	p := plan(t, reg, Options{})
	// A value changes between planning and applying: nothing is written.
	if err := reg.SetDWORD(platform.LocalMachine, platform.View64, schannel.SideKey(audit.TLS10, schannel.Server), "Enabled", 0); err != nil {
		t.Fatal(err)
	}
	reg.Writes = 0
	if _, err := Apply(context.Background(), deps(reg), p, ApplyOptions{BackupDir: dir}); !errors.Is(err, ErrDrift) || reg.Writes != 0 {
		t.Fatalf("apply after drift: %v, %d writes", err, reg.Writes)
	}
	p = plan(t, reg, Options{})
	before := reg.Dump()
	res, err := Apply(context.Background(), deps(reg), p, ApplyOptions{BackupDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// Someone turns TLS 1.1 back on after the fix: rollback refuses...
	if err := reg.SetDWORD(platform.LocalMachine, platform.View64, schannel.SideKey(audit.TLS11, schannel.Client), "Enabled", 1); err != nil {
		t.Fatal(err)
	}
	_, err = Rollback(context.Background(), deps(reg), RollbackOptions{BackupDir: dir, ID: res.ID})
	var de *DriftError
	if !errors.As(err, &de) || len(de.Values) != 1 || !strings.Contains(de.Values[0], `TLS 1.1\Client [Enabled] is 1`) {
		t.Fatalf("rollback after drift: %v", err)
	}
	// ...unless forced, and then restores everything.
	rb, err := Rollback(context.Background(), deps(reg), RollbackOptions{BackupDir: dir, ID: res.ID, Force: true})
	if err != nil || len(rb.Drifted) != 1 {
		t.Fatalf("forced rollback: %+v, %v", rb, err)
	}
	if after := reg.Dump(); after != before {
		t.Errorf("forced rollback did not restore:\n%s", after)
	}
}

func TestLockExcludesConcurrentRuns(t *testing.T) {
	reg := host(t, 19045)
	dir := platformtest.TempDir(t)
	lock, err := platform.Lock(context.Background(), filepath.Join(dir, LockName), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	p := plan(t, reg, Options{})
	reg.Writes = 0
	if _, err := Apply(context.Background(), deps(reg), p, ApplyOptions{BackupDir: dir}); !errors.Is(err, platform.ErrLocked) || reg.Writes != 0 {
		t.Fatalf("Apply while locked: %v, %d writes", err, reg.Writes)
	}
}

func decodeUTF16(t *testing.T, b []byte) string {
	t.Helper()
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xfe || len(b)%2 != 0 {
		t.Fatalf("not UTF-16LE with BOM: % x", b[:min(len(b), 8)])
	}
	u := make([]uint16, 0, len(b)/2-1)
	for i := 2; i < len(b); i += 2 {
		u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
	}
	return string(utf16.Decode(u))
}

func TestRegFile(t *testing.T) {
	reg := host(t, 19045)
	dir := platformtest.TempDir(t)
	res, err := Apply(context.Background(), deps(reg), plan(t, reg, Options{}), ApplyOptions{BackupDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(res.Dir, RegFileName))
	if err != nil {
		t.Fatal(err)
	}
	text := decodeUTF16(t, b)
	for _, want := range []string{
		"Windows Registry Editor Version 5.00\r\n\r\n",
		// An existing value goes back to its old data.
		"[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.0\\Server]\r\n\"Enabled\"=dword:00000001\r\n\"DisabledByDefault\"=-\r\n",
		"[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]\r\n\"SecureProtocols\"=dword:00000a80\r\n",
		// Keys the fix created go as a whole; the 32-bit view is spelled out.
		"[-HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2]\r\n",
		"[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\.NETFramework]\r\n",
		"[-HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]\r\n",
		"[-HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Microsoft\\Windows]\r\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf(".reg lacks %q:\n%s", want, text)
		}
	}
	// Children of a deleted key are not listed separately.
	if strings.Contains(text, `TLS 1.2\Client]`) || strings.Contains(text, `Wow6432Node\Microsoft\.NETFramework\v4.0.30319]`) {
		t.Errorf(".reg lists keys inside deleted keys:\n%s", text)
	}
	if strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\n") {
		t.Error(".reg has bare LF line endings")
	}
}

func TestList(t *testing.T) {
	dir := platformtest.TempDir(t)
	if l, err := List(filepath.Join(dir, "missing")); err != nil || len(l) != 0 {
		t.Fatalf("List(missing) = %v, %v", l, err)
	}
	reg := host(t, 19045)
	d := deps(reg)
	r1, err := Apply(context.Background(), d, plan(t, reg, Options{}), ApplyOptions{BackupDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Rollback(context.Background(), d, RollbackOptions{BackupDir: dir, ID: r1.ID}); err != nil {
		t.Fatal(err)
	}
	r2, err := Apply(context.Background(), d, plan(t, reg, Options{}), ApplyOptions{BackupDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// A file-fix backup in the same directory is skipped.
	if err := os.MkdirAll(filepath.Join(dir, "20261128T000000Z-aaaaaa"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "20261128T000000Z-aaaaaa", ManifestName), []byte(`{"schema_version":1,"id":"x","files":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := List(dir)
	if err != nil || len(l) != 2 || l[0].ID != r1.ID || l[0].Status != StatusRolledBack || l[1].ID != r2.ID || l[1].Status != StatusApplied {
		t.Fatalf("List = %+v, %v", l, err)
	}
}
