package nginxfix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

const mainConf = "/etc/nginx/nginx.conf"

// legacy returns the findings a fix must remove.
func legacy(a *nginx.Analysis) []audit.Finding {
	var out []audit.Finding
	for _, f := range a.Findings {
		if f.ID == audit.RuleLegacyEnabled || f.ID == audit.RuleLegacyDefault || f.ID == audit.RuleDirectiveNoEffect {
			out = append(out, f)
		}
	}
	return out
}

// snapshot reads every regular file under root.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fixAndCheck plans and applies the fix, audits again (no legacy
// findings), plans again (nothing to change), then restores and checks that
// every file is byte-identical to before. It returns the plan and the
// fixed contents of mainConf... of every changed file.
func fixAndCheck(t *testing.T, root, version string, pol remediate.Policy) (*remediate.Plan, map[string]string) {
	t.Helper()
	orig := snapshot(t, root)
	p := plan(t, testEnv(root, mainConf, version, pol.Min), pol)
	if p.Empty() {
		t.Fatal("plan is empty, want changes")
	}
	restore := apply(t, root, p)
	fixed := map[string]string{}
	for _, fc := range p.Files {
		fixed[fc.Path] = platformtest.ReadFile(t, root, fc.RealPath)
	}
	a2, p2, err := Analyze(t.Context(), testEnv(root, mainConf, version, pol.Min), Options{Policy: pol})
	if err != nil {
		t.Fatalf("audit after the fix: %v", err)
	}
	if l := legacy(a2); len(l) > 0 {
		t.Errorf("after the fix, legacy findings remain: %+v", l)
	}
	if !p2.Empty() {
		t.Errorf("second plan is not empty: %+v", p2.Files)
	}
	restore()
	if after := snapshot(t, root); len(after) != len(orig) {
		t.Errorf("restore: %d files, want %d", len(after), len(orig))
	} else {
		for k, v := range orig {
			if after[k] != v {
				t.Errorf("restore: %s differs", k)
			}
		}
	}
	return p, fixed
}

func TestLayoutKept(t *testing.T) {
	tests := []struct {
		name, conf, want string
	}{
		{
			name: "CRLF, tabs, trailing comment",
			conf: "events {}\r\nhttp {\r\n\tserver {\r\n\t\tlisten 443 ssl;\r\n\t\tssl_protocols\tTLSv1 TLSv1.1 TLSv1.2; # POODLE\r\n\t}\r\n}\r\n",
			want: "events {}\r\nhttp {\r\n\tserver {\r\n\t\tlisten 443 ssl;\r\n\t\tssl_protocols\tTLSv1.2 TLSv1.3; # POODLE\r\n\t}\r\n}\r\n",
		},
		{
			name: "multi-line directive",
			conf: "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols TLSv1\n                      TLSv1.1\n                      TLSv1.2;\n    }\n}\n",
			want: "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols TLSv1.2 TLSv1.3;\n    }\n}\n",
		},
		{
			name: "quoted arguments stay quoted",
			conf: "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols \"TLSv1\" \"TLSv1.2\";\n    }\n}\n",
			want: "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols \"TLSv1.2\" \"TLSv1.3\";\n    }\n}\n",
		},
		{
			name: "latin-1 bytes elsewhere on the line",
			conf: "events {}\nhttp {\n    server {\n        listen 443 ssl; server_name caf\xe9.example; ssl_protocols SSLv3 TLSv1; # caf\xe9\n    }\n}\n",
			want: "events {}\nhttp {\n    server {\n        listen 443 ssl; server_name caf\xe9.example; ssl_protocols TLSv1.2 TLSv1.3; # caf\xe9\n    }\n}\n",
		},
		{
			name: "comment between arguments is kept",
			conf: "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols TLSv1 # old clients\n            TLSv1.2;\n    }\n}\n",
			want: "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols TLSv1.2 TLSv1.3 # old clients\n            ;\n    }\n}\n",
		},
		{
			name: "two ssl_protocols in one block",
			conf: "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols TLSv1.2;\n        # legacy clients\n        ssl_protocols TLSv1 TLSv1.1;\n        ssl_prefer_server_ciphers on;\n    }\n}\n",
			want: "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols TLSv1.2 TLSv1.3;\n        # legacy clients\n        ssl_prefer_server_ciphers on;\n    }\n}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := platformtest.WriteTree(t, map[string]string{mainConf: tt.conf})
			_, fixed := fixAndCheck(t, root, "1.22.1", remediate.DefaultPolicy())
			if got := fixed[mainConf]; got != tt.want {
				t.Errorf("fixed:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestInsertForDefault(t *testing.T) {
	// nginx before 1.23.4 defaults to TLSv1 TLSv1.1 TLSv1.2.
	conf := "events {}\nhttp {\n\tinclude mime.types;\n\tserver {\n\t\tlisten 443 ssl;\n\t}\n}\nmail {\n    server {\n        listen 993 ssl;\n        protocol imap;\n    }\n}\n"
	root := platformtest.WriteTree(t, map[string]string{mainConf: conf, "/etc/nginx/mime.types": "types {}\n"})
	p, fixed := fixAndCheck(t, root, "1.22.1", remediate.DefaultPolicy())
	want := "events {}\nhttp {\n\tssl_protocols TLSv1.2 TLSv1.3;\n\tinclude mime.types;\n\tserver {\n\t\tlisten 443 ssl;\n\t}\n}\nmail {\n    ssl_protocols TLSv1.2 TLSv1.3;\n    server {\n        listen 993 ssl;\n        protocol imap;\n    }\n}\n"
	if got := fixed[mainConf]; got != want {
		t.Errorf("fixed:\n%s\nwant\n%s", got, want)
	}
	for _, e := range p.Files[0].Edits {
		if !strings.Contains(e.Reason, "legacy-protocol-default") {
			t.Errorf("edit reason %q does not name the rule", e.Reason)
		}
	}
}

func TestInsertIntoEmptyBlockOnOneLine(t *testing.T) {
	conf := "events {}\nhttp { server { listen 443 ssl; } }\n"
	root := platformtest.WriteTree(t, map[string]string{mainConf: conf})
	_, fixed := fixAndCheck(t, root, "1.22.1", remediate.DefaultPolicy())
	if want := "events {}\nhttp { ssl_protocols TLSv1.2 TLSv1.3; server { listen 443 ssl; } }\n"; fixed[mainConf] != want {
		t.Errorf("fixed %q, want %q", fixed[mainConf], want)
	}
}

func TestProxyDefault(t *testing.T) {
	conf := "events {}\nhttp {\n    server {\n        listen 80;\n        location / {\n            proxy_pass https://backend.example;\n        }\n    }\n}\n"
	root := platformtest.WriteTree(t, map[string]string{mainConf: conf})
	_, fixed := fixAndCheck(t, root, "1.22.1", remediate.DefaultPolicy())
	if !strings.Contains(fixed[mainConf], "http {\n    proxy_ssl_protocols TLSv1.2 TLSv1.3;\n    server {") {
		t.Errorf("no proxy_ssl_protocols in the http block:\n%s", fixed[mainConf])
	}
}

func TestTLS13Gate(t *testing.T) {
	conf := "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols TLSv1 TLSv1.2;\n    }\n}\n"
	for _, tc := range []struct {
		version string
		pol     remediate.Policy
		want    string
		note    bool
	}{
		{"1.12.0", remediate.DefaultPolicy(), "ssl_protocols TLSv1.2;", true},
		{"1.13.0", remediate.DefaultPolicy(), "ssl_protocols TLSv1.2 TLSv1.3;", false},
		{"1.22.1", remediate.Policy{Min: audit.TLS12, TLS13: remediate.TLS13Off}, "ssl_protocols TLSv1.2;", false},
		{"1.22.1", remediate.Policy{Min: audit.TLS13, TLS13: remediate.TLS13Auto}, "ssl_protocols TLSv1.3;", false},
	} {
		t.Run(tc.version+string(tc.pol.TLS13)+tc.pol.Min.String(), func(t *testing.T) {
			root := platformtest.WriteTree(t, map[string]string{mainConf: conf})
			p, fixed := fixAndCheck(t, root, tc.version, tc.pol)
			if !strings.Contains(fixed[mainConf], tc.want) {
				t.Errorf("fixed:\n%s\nwant %q", fixed[mainConf], tc.want)
			}
			if tc.note != (len(p.Notes) > 0) {
				t.Errorf("notes = %q, want a note: %v", p.Notes, tc.note)
			}
		})
	}
	root := platformtest.WriteTree(t, map[string]string{mainConf: conf})
	_, _, err := Analyze(t.Context(), testEnv(root, mainConf, "1.12.0", audit.TLS13), Options{Policy: remediate.Policy{Min: audit.TLS13, TLS13: remediate.TLS13Auto}})
	if err == nil {
		t.Error("--min-version 1.3 on nginx 1.12.0: no error")
	}
}

func TestSymlinkedSite(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{
		mainConf:                             "events {}\nhttp {\n    include /etc/nginx/sites-enabled/*;\n}\n",
		"/etc/nginx/sites-available/default": "server {\n    listen 443 ssl;\n    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n}\n",
	})
	link := filepath.Join(root, "etc/nginx/sites-enabled/default")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	// An absolute target, as Debian makes them: it must resolve inside --root.
	if err := os.Symlink("/etc/nginx/sites-available/default", link); err != nil {
		t.Fatal(err)
	}
	p, _ := fixAndCheck(t, root, "1.22.1", remediate.DefaultPolicy())
	if len(p.Files) != 1 {
		t.Fatalf("files = %d, want 1", len(p.Files))
	}
	fc := p.Files[0]
	if fc.Path != "/etc/nginx/sites-enabled/default" || fc.RealPath != "/etc/nginx/sites-available/default" {
		t.Errorf("Path %q RealPath %q", fc.Path, fc.RealPath)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is gone: %v", err)
	}
}

func TestReadOnlyFilePlanned(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{mainConf: "events {}\nhttp {\n    ssl_protocols TLSv1;\n}\n"})
	disk := filepath.Join(root, "etc/nginx/nginx.conf")
	if err := os.Chmod(disk, 0o444); err != nil {
		t.Fatal(err)
	}
	p := plan(t, testEnv(root, mainConf, "1.22.1", audit.TLS12), remediate.DefaultPolicy())
	if len(p.Files) != 1 || p.Files[0].Mode.Perm() != 0o444 {
		t.Fatalf("plan %+v: want one file with mode 0444 recorded", p.Files)
	}
	// Planning never writes.
	if got := platformtest.ReadFile(t, root, mainConf); got != "events {}\nhttp {\n    ssl_protocols TLSv1;\n}\n" {
		t.Errorf("planning changed the file: %q", got)
	}
}

func TestSharedAddressHarmonised(t *testing.T) {
	conf := "events {}\nhttp {\n    server {\n        listen 443 ssl default_server;\n        server_name a;\n        ssl_protocols TLSv1 TLSv1.2;\n    }\n    server {\n        listen 443 ssl;\n        server_name b;\n        ssl_protocols TLSv1.2;\n    }\n    server {\n        listen 8443 ssl;\n        server_name c;\n        ssl_protocols TLSv1.2;\n    }\n}\n"
	root := platformtest.WriteTree(t, map[string]string{mainConf: conf})
	p, fixed := fixAndCheck(t, root, "1.22.1", remediate.DefaultPolicy())
	if got := strings.Count(fixed[mainConf], "ssl_protocols TLSv1.2 TLSv1.3;"); got != 2 {
		t.Errorf("%d lines rewritten, want 2 (a, and b on the same address):\n%s", got, fixed[mainConf])
	}
	if !strings.Contains(fixed[mainConf], "listen 8443 ssl;\n        server_name c;\n        ssl_protocols TLSv1.2;") {
		t.Errorf("server c (alone on 8443) was changed:\n%s", fixed[mainConf])
	}
	found := false
	for _, n := range p.Notes {
		found = found || (strings.Contains(n, ":11:") && strings.Contains(n, "compliant"))
	}
	if !found {
		t.Errorf("no note explains the change of the compliant line 11: %q", p.Notes)
	}
}

func TestUncertainInputRefused(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{mainConf: "events {}\nhttp {\n    ssl_protocols TLSv1;\n    server { listen 443 ssl\n}\n"})
	_, _, err := Analyze(t.Context(), testEnv(root, mainConf, "1.22.1", audit.TLS12), Options{Policy: remediate.DefaultPolicy()})
	var ce *audit.ConfigError
	if !errors.As(err, &ce) || ce.Path == "" {
		t.Fatalf("err = %v, want a path:line ConfigError", err)
	}
}

func TestNothingToChange(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{mainConf: "events {}\nhttp {\n    ssl_protocols TLSv1.2 TLSv1.3;\n    server { listen 443 ssl; }\n}\n"})
	if p := plan(t, testEnv(root, mainConf, "1.22.1", audit.TLS12), remediate.DefaultPolicy()); !p.Empty() {
		t.Errorf("plan for a compliant config: %+v", p.Files)
	}
}

// testEnvWithBinary is testEnv with a scripted nginx -V that names the
// OpenSSL nginx was built with, so that the audit knows the library.
func testEnvWithBinary(root, version, openssl string) *audit.Env {
	env := testEnv(root, mainConf, "", audit.TLS12)
	env.Options.NginxBin = "/fake/nginx"
	env.Runner = &platformtest.Runner{Script: map[string]platform.Output{
		"/fake/nginx -V": {Stderr: []byte("nginx version: nginx/" + version + "\nbuilt with " + openssl + "\n")},
	}}
	return env
}

// With per-server SNI (nginx 1.29.2+, OpenSSL 1.1.1+) nothing makes the
// compliant server's line "no effect", yet two servers on one address
// must still end alike: the planner changes the compliant line and says
// so.
func TestSharedAddressHarmonisedWithSNI(t *testing.T) {
	conf := "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        server_name a;\n        ssl_protocols TLSv1 TLSv1.2;\n    }\n    server {\n        listen 443 ssl;\n        server_name b;\n        ssl_protocols TLSv1.2;\n    }\n}\n"
	root := platformtest.WriteTree(t, map[string]string{mainConf: conf})
	env := testEnvWithBinary(root, "1.29.3", "OpenSSL 3.0.15 3 Sep 2024")
	a, p, err := Analyze(t.Context(), env, Options{Policy: remediate.DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	if !a.SNIPerServer {
		t.Fatal("the audit does not see per-server SNI; the test would not exercise the harmonisation")
	}
	restore := apply(t, root, p)
	defer restore()
	got := platformtest.ReadFile(t, root, mainConf)
	if strings.Count(got, "ssl_protocols TLSv1.2 TLSv1.3;") != 2 {
		t.Errorf("fixed:\n%s", got)
	}
	found := false
	for _, n := range p.Notes {
		found = found || (strings.Contains(n, ":11:") && strings.Contains(n, "compliant") && strings.Contains(n, "*:443"))
	}
	if !found {
		t.Errorf("no note for the compliant line 11: %q", p.Notes)
	}
}

func TestStreamAndProxyDirectives(t *testing.T) {
	conf := "events {}\nstream {\n    server {\n        listen 12345 ssl;\n        ssl_protocols TLSv1 TLSv1.2;\n        proxy_pass 127.0.0.1:1;\n        proxy_ssl on;\n        proxy_ssl_protocols TLSv1.1;\n    }\n}\nhttp {\n    ssl_protocols TLSv1.2;\n    server {\n        listen 80;\n        location /g { grpc_pass grpcs://127.0.0.1:2; grpc_ssl_protocols TLSv1; }\n        location /u { uwsgi_pass suwsgi://127.0.0.1:3; uwsgi_ssl_protocols SSLv3 TLSv1.2; }\n    }\n}\n"
	root := platformtest.WriteTree(t, map[string]string{mainConf: conf})
	_, fixed := fixAndCheck(t, root, "1.22.1", remediate.DefaultPolicy())
	for _, want := range []string{
		"        ssl_protocols TLSv1.2 TLSv1.3;\n        proxy_pass",
		"        proxy_ssl_protocols TLSv1.2 TLSv1.3;\n",
		"grpc_ssl_protocols TLSv1.2 TLSv1.3; }",
		"uwsgi_ssl_protocols TLSv1.2 TLSv1.3; }",
		"http {\n    ssl_protocols TLSv1.2;\n", // compliant, no server on a shared address: left alone
	} {
		if !strings.Contains(fixed[mainConf], want) {
			t.Errorf("missing %q in\n%s", want, fixed[mainConf])
		}
	}
}

// The bytes changed between the audit and the plan: the locator finds
// arguments other than the parser reported and refuses with path:line.
func TestLocatorRefusesWhatTheParserDidNotSee(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{mainConf: "events {}\nhttp {\n    ssl_protocols TLSv1 TLSv1.1;\n}\n"})
	env := testEnv(root, mainConf, "1.22.1", audit.TLS12)
	a, err := nginx.Analyze(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/nginx/nginx.conf"), []byte("events {}\nhttp {\n    ssl_protocols TLSv1 SSLv3;\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Plan(a, env.FS, Options{Policy: remediate.DefaultPolicy()})
	var ce *audit.ConfigError
	if !errors.As(err, &ce) || ce.Path != mainConf || ce.Line != 3 || !strings.Contains(err.Error(), "cannot locate directive with certainty") {
		t.Fatalf("err = %v, want %s:3: cannot locate directive with certainty", err, mainConf)
	}
}
