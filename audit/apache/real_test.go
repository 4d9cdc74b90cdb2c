package apache

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// realEnv is an Env on the real host.
func realEnv(opts audit.Options) *audit.Env {
	return &audit.Env{FS: platform.NewOSFS("/"), Runner: platform.ExecRunner{Timeout: 30 * time.Second},
		Getenv: os.Getenv, Now: time.Now, Policy: audit.DefaultPolicy(), Options: opts}
}

// dumpIncludes runs `apache2ctl -t -D DUMP_INCLUDES` (with APACHE_CONFDIR
// for a copied tree) and returns the files httpd read, in order, each once.
func dumpIncludes(t *testing.T, ctl, confdir string) []string {
	t.Helper()
	cmd := exec.Command(ctl, "-t", "-D", "DUMP_INCLUDES")
	if confdir != "" {
		cmd.Env = append(os.Environ(), "APACHE_CONFDIR="+confdir)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -t -D DUMP_INCLUDES: %v\n%s", ctl, err, out)
	}
	re := regexp.MustCompile(`^\s+\((?:\*|\d+)\) (/.*)$`)
	var files []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil && !seen[m[1]] {
			seen[m[1]] = true
			files = append(files, m[1])
		}
	}
	if len(files) == 0 {
		t.Fatalf("no files in DUMP_INCLUDES output:\n%s", out)
	}
	return files
}

func TestRealApacheStock(t *testing.T) {
	ctl := platformtest.RequireTool(t, "apache2ctl")
	if _, err := os.Stat("/etc/apache2/apache2.conf"); err != nil {
		t.Skipf("no stock /etc/apache2: %v", err)
	}
	a, err := Analyze(context.Background(), realEnv(audit.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Found || a.Main != "/etc/apache2/apache2.conf" || a.Binary == "" {
		t.Fatalf("Found=%v Main=%q Binary=%q, want the Debian config found through -V", a.Found, a.Main, a.Binary)
	}
	out, err := exec.Command("apache2", "-v").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := ParseV(string(out)).Version
	if !want.Known() || a.Version.Compare(want) != 0 || a.VersionAssumed {
		t.Errorf("Version = %v (assumed %v), apache2 -v says %v", a.Version, a.VersionAssumed, want)
	}
	if d := cmp.Diff(dumpIncludes(t, ctl, ""), a.Files); d != "" {
		t.Errorf("files read differ from httpd's DUMP_INCLUDES (-httpd +tlsfloor):\n%s", d)
	}
	l, err := exec.Command("apache2", "-l").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := ParseL(string(l)); want == nil || !cmp.Equal(a.ParseOptions.StaticModules, want) {
		t.Errorf("StaticModules = %v, apache2 -l lists %v", a.ParseOptions.StaticModules, want)
	}
}

func TestRealApacheDefaultSSL(t *testing.T) {
	ctl := platformtest.RequireTool(t, "apache2ctl")
	if _, err := os.Stat("/etc/apache2/mods-available/ssl.conf"); err != nil {
		t.Skipf("no stock /etc/apache2 with mod_ssl: %v", err)
	}
	// Copy /etc/apache2 and emulate `a2enmod ssl` and `a2ensite
	// default-ssl` with the same relative links those tools create.
	dir := filepath.Join(t.TempDir(), "apache2")
	if out, err := exec.Command("cp", "-a", "/etc/apache2", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	for _, l := range []struct{ link, target string }{
		{"mods-enabled/socache_shmcb.load", "../mods-available/socache_shmcb.load"},
		{"mods-enabled/ssl.load", "../mods-available/ssl.load"},
		{"mods-enabled/ssl.conf", "../mods-available/ssl.conf"},
		{"sites-enabled/default-ssl.conf", "../sites-available/default-ssl.conf"},
	} {
		p := filepath.Join(dir, l.link)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink(l.target, p); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, "apache2.conf")
	a, err := Analyze(context.Background(), realEnv(audit.Options{ApacheConf: main}))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(dumpIncludes(t, ctl, dir), a.Files); d != "" {
		t.Errorf("files read differ from httpd's DUMP_INCLUDES (-httpd +tlsfloor):\n%s", d)
	}

	// What httpd's own -S says about the TLS vhost.
	cmd := exec.Command(ctl, "-S")
	cmd.Env = append(os.Environ(), "APACHE_CONFDIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("apache2ctl -S: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^(\S+:443)\s+\S+ \((\S+):(\d+)\)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no *:443 vhost in apache2ctl -S output:\n%s", out)
	}
	if len(a.VHosts) == 0 {
		t.Fatal("no vhosts found")
	}
	var tls *VHost
	for i := range a.VHosts {
		if a.VHosts[i].SSLEngine {
			if tls != nil {
				t.Fatalf("more than one TLS vhost: %+v", a.VHosts)
			}
			tls = &a.VHosts[i]
		}
	}
	if tls == nil || tls.File != m[2] || itoa(tls.Line) != m[3] {
		t.Fatalf("TLS vhost = %+v, httpd -S says %s:%s", tls, m[2], m[3])
	}

	// The stock ssl.conf's SSLProtocol is the one that applies.
	sslConf := filepath.Join(dir, "mods-enabled", "ssl.conf")
	b, err := os.ReadFile(sslConf)
	if err != nil {
		t.Fatal(err)
	}
	line, args := 0, ""
	for i, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "SSLProtocol" {
			line, args = i+1, strings.Join(f[1:], " ")
		}
	}
	if line == 0 {
		t.Fatalf("stock %s has no SSLProtocol", sslConf)
	}
	if tls.Source != audit.SourceInherited || tls.From == nil || tls.From.File != sslConf || tls.From.Line != line {
		t.Errorf("vhost source = %s from %+v, want inherited from %s:%d", tls.Source, tls.From, sslConf, line)
	}
	t.Logf("httpd %v, library %v (%s)", a.Version, a.Library, a.LibraryPath)
	caps := Caps{HTTPD: a.Version, Library: a.Library}
	set, err := caps.ParseProtocol("SSLProtocol", strings.Fields(args))
	if err != nil {
		t.Fatal(err)
	}
	if tls.Effective != caps.Effective(set) {
		t.Errorf("vhost effective %v, want %v from %q", tls.Effective, caps.Effective(set), args)
	}
	legacy := tls.Effective.Below(audit.TLS12)
	var found *audit.Finding
	for i, f := range a.Findings {
		if f.ID == audit.RuleLegacyEnabled && f.File == sslConf && f.Line == line {
			found = &a.Findings[i]
		}
	}
	if legacy.Empty() {
		if found != nil {
			t.Errorf("unexpected legacy finding %+v", found)
		}
		return
	}
	if found == nil {
		t.Fatalf("no legacy-protocol-enabled at %s:%d; findings: %+v", sslConf, line, a.Findings)
	}
	if found.Protocols != legacy || len(found.Affects) != 1 || found.Affects[0].File != tls.File {
		t.Errorf("finding %+v, want protocols %v affecting %s", found, legacy, tls.File)
	}
	wantSev := audit.High
	if a.Library.SecurityLevelBlocksLegacy() {
		wantSev = audit.Medium
	}
	if found.Severity != wantSev {
		t.Errorf("severity %v, want %v (library %v)", found.Severity, wantSev, a.Library)
	}
}
