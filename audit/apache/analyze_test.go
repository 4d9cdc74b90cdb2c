package apache

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// goldenCase reads a txtar case: "config" holds key: value lines (version,
// openssl, policy, main, bin), "want.json" the expected result, every other
// file is written into the host tree at its name.
type goldenCase struct {
	opts    map[string]string
	files   map[string]string
	archive *txtar.Archive
}

func readCase(ar *txtar.Archive) goldenCase {
	c := goldenCase{opts: map[string]string{}, files: map[string]string{}, archive: ar}
	for _, f := range ar.Files {
		switch f.Name {
		case "config":
			for _, l := range strings.Split(string(f.Data), "\n") {
				if k, v, ok := strings.Cut(l, ":"); ok {
					c.opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
		case "want.json":
		default:
			c.files[f.Name] = string(f.Data)
		}
	}
	return c
}

// testEnv builds an Env rooted at a temp tree; a "version" option scripts
// `apache2ctl -V` (run because --apache-bin names it).
func testEnv(t *testing.T, fsys platform.FS, opts map[string]string) *audit.Env {
	r := &platformtest.Runner{Script: map[string]platform.Output{}}
	env := &audit.Env{FS: fsys, Runner: r, Getenv: func(string) string { return "" },
		Now:    func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) },
		Policy: audit.DefaultPolicy(), Options: audit.Options{Root: "/nonexistent-root", ApacheConf: opts["main"]}}
	if v := opts["version"]; v != "" {
		env.Options.ApacheBin = "/usr/sbin/apache2ctl"
		r.Script["/usr/sbin/apache2ctl -V"] = platform.Output{Stdout: []byte(
			"Server version: Apache/" + v + " (Debian)\nServer built:   2026-11-12T08:58:41\n" +
				" -D HTTPD_ROOT=\"/etc/apache2\"\n -D SERVER_CONFIG_FILE=\"apache2.conf\"\n")}
		r.Script["/usr/sbin/apache2ctl -l"] = platform.Output{Stdout: []byte(debianL)}
	}
	if opts["policy"] == "1.3" {
		env.Policy.MinProtocol = audit.TLS13
	}
	return env
}

// debianL is what Debian's `apache2 -l` prints.
const debianL = `Compiled in modules:
  core.c
  mod_so.c
  mod_watchdog.c
  http_core.c
  mod_log_config.c
  mod_logio.c
  mod_version.c
  mod_unixd.c
`

type goldenResult struct {
	Component  audit.Component
	Findings   []audit.Finding
	Listeners  []Listener
	ServerWide InsertionPoint
	Files      []string
	Directives []string
}

func TestGolden(t *testing.T) {
	platformtest.Txtars(t, "testdata/golden/*.txtar", func(t *testing.T, file string, ar *txtar.Archive) {
		c := readCase(ar)
		fsys, _ := writeTree(t, c.files)
		env := testEnv(t, fsys, c.opts)
		var lib *openssl.Library
		if v := c.opts["openssl"]; v != "" {
			lib = &openssl.Library{Version: mustLib(t, v), Path: "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"}
		}
		a, err := analyze(context.Background(), env, lib)
		var got []byte
		if err != nil {
			got = []byte("error: " + err.Error() + "\n")
		} else {
			rep := audit.Report{Components: []audit.Component{a.Component}, Findings: a.Findings}
			rep.Finalize(env.Policy)
			res := goldenResult{Component: rep.Components[0], Findings: rep.Findings, Listeners: a.Listeners,
				ServerWide: a.ServerWide, Files: a.Files}
			for _, d := range a.Directives {
				res.Directives = append(res.Directives, directiveSummary(d))
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				t.Fatal(err)
			}
			got = buf.Bytes()
		}
		platformtest.GoldenSection(t, file, c.archive, "want.json", got)
	})
}

func directiveSummary(d Directive) string {
	s := d.File + ":" + itoa(d.Line) + " " + d.Name + " " + strings.Join(d.Args, " ")
	if !d.Active {
		return s + " (inactive)"
	}
	s += " => " + d.Effective.String()
	if d.VHost != nil {
		s += " in vhost " + d.VHost.File + ":" + itoa(d.VHost.Line)
	}
	return s
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestServiceDefines: the -D names the service passes reach <IfDefine>:
// Debian's APACHE_ARGUMENTS in envvars, Red Hat's OPTIONS in
// /etc/sysconfig/httpd. Without them the gated SSLProtocol is inactive.
func TestServiceDefines(t *testing.T) {
	const vhost = "LoadModule ssl_module modules/mod_ssl.so\nListen 443\n<VirtualHost *:443>\n  SSLEngine on\n  SSLProtocol TLSv1.2\n  <IfDefine LEGACY>\n    SSLProtocol all\n  </IfDefine>\n</VirtualHost>\n"
	tests := []struct {
		name, main string
		files      map[string]string
		wantNote   string // "" when nothing defines LEGACY
	}{
		{"debian", "/etc/apache2/apache2.conf", map[string]string{
			"/etc/apache2/apache2.conf": vhost,
			"/etc/apache2/envvars":      "export APACHE_RUN_USER=www-data\nexport APACHE_ARGUMENTS='-D LEGACY -DOTHER'\n",
		}, "-D LEGACY -D OTHER from APACHE_ARGUMENTS in /etc/apache2/envvars"},
		{"debian, commented out", "/etc/apache2/apache2.conf", map[string]string{
			"/etc/apache2/apache2.conf": vhost,
			"/etc/apache2/envvars":      "export APACHE_RUN_USER=www-data\n#export APACHE_ARGUMENTS='-D LEGACY'\n",
		}, ""},
		{"red hat", "/etc/httpd/conf/httpd.conf", map[string]string{
			"/etc/httpd/conf/httpd.conf": vhost,
			"/etc/sysconfig/httpd":       "# Command line options\nOPTIONS=\"-DLEGACY\"\nLANG=C\n",
		}, "-D LEGACY from OPTIONS in /etc/sysconfig/httpd"},
		{"red hat, no OPTIONS", "/etc/httpd/conf/httpd.conf", map[string]string{
			"/etc/httpd/conf/httpd.conf": vhost,
			"/etc/sysconfig/httpd":       "LANG=C\n",
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys, _ := writeTree(t, tt.files)
			env := testEnv(t, fsys, map[string]string{"main": tt.main, "version": "2.4.62"})
			lib := &openssl.Library{Version: mustLib(t, "OpenSSL 1.1.1w 11 Sep 2023"), Path: "/usr/lib/libcrypto.so.1.1"}
			a, err := analyze(context.Background(), env, lib)
			if err != nil {
				t.Fatal(err)
			}
			legacy := false
			for _, f := range a.Findings {
				if f.ID == "legacy-protocol-enabled" && f.Line == 7 {
					legacy = true
				}
			}
			if legacy != (tt.wantNote != "") {
				t.Errorf("legacy finding at line 7 = %v, want %v; findings %+v", legacy, tt.wantNote != "", a.Findings)
			}
			notes := strings.Join(a.Component.Notes, "\n")
			if tt.wantNote != "" && !strings.Contains(notes, tt.wantNote) {
				t.Errorf("notes lack %q:\n%s", tt.wantNote, notes)
			}
			if tt.wantNote == "" && strings.Contains(notes, "-D ") {
				t.Errorf("a define was reported:\n%s", notes)
			}
		})
	}
}

func TestCommandLineDefines(t *testing.T) {
	got := commandLineDefines("-d /etc/apache2 -D SSL -DFOREGROUND -k start -D")
	if d := cmp.Diff([]string{"SSL", "FOREGROUND"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
