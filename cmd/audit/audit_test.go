package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func testFactory(out, errOut *bytes.Buffer) *cmdutil.Factory {
	return &cmdutil.Factory{
		IO:      cmdutil.Test(strings.NewReader(""), out, errOut),
		Runner:  &platformtest.Runner{},
		Getenv:  func(string) string { return "" },
		Now:     func() time.Time { return time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) },
		Version: "test",
		NewFS:   func(root string) platform.FS { return platform.NewOSFS(root) },
	}
}

func TestNewCmdAuditFlags(t *testing.T) {
	mnt := t.TempDir()
	notDir := filepath.Join(mnt, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		check   func(*Options) bool
		wantErr string
	}{
		{nil, func(o *Options) bool {
			return o.Format == cmdutil.FormatText && o.MinVersion == audit.TLS12 && o.FailOn == audit.Medium && !o.Live
		}, ""},
		{[]string{"--format", "json", "--min-version", "1.3", "--fail-on", "HIGH", "--live", "--root", mnt}, func(o *Options) bool {
			return o.Format == cmdutil.FormatJSON && o.MinVersion == audit.TLS13 && o.FailOn == audit.High && o.Live && o.Discovery.Root == mnt
		}, ""},
		// A mistyped --root would audit an empty tree and call it compliant.
		{[]string{"--root", mnt + "/missing"}, nil, "no such file or directory"},
		{[]string{"--root", notDir}, nil, "not a directory"},
		{[]string{"--only", "nginx,openssl", "--only", "apache"}, func(o *Options) bool {
			return len(o.Only) == 3 && o.Only.Has("nginx") && o.Only.Has("apache") && o.Only.Has("openssl")
		}, ""},
		{[]string{"--only", "nginx", "--live"}, func(o *Options) bool { return o.Live && o.Only.Has("nginx") && !o.Only.Has("apache") }, ""},
		{[]string{"--only", "iis"}, nil, `invalid --only "iis": want nginx, apache, openssl`},
		{[]string{"--only", "openssl", "--live"}, nil, "--only must name nginx or apache"},
		{[]string{"--min-version", "1.0"}, nil, "want 1.2 or 1.3"},
		{[]string{"--fail-on", "urgent"}, nil, "unknown severity"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *Options
			var out, errOut bytes.Buffer
			cmd := NewCmdAudit(testFactory(&out, &errOut), func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !cmdutil.IsFlagError(err) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got == nil || !tt.check(got) {
				t.Fatalf("err = %v, options = %+v", err, got)
			}
		})
	}
}

// TestRunExitCodes: the same host gives exit 3 in text and JSON, and exit 0
// once --fail-on is above every finding; unusable input is exit 2.
func TestRunExitCodes(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/nginx"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "events {}\nhttp {\n  ssl_protocols TLSv1 TLSv1.2;\n  server { listen 443 ssl; }\n}\n"
	if err := os.WriteFile(filepath.Join(root, "etc/nginx/nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(format cmdutil.Format, failOn audit.Severity, nginxConf string) (int, string) {
		var out, errOut bytes.Buffer
		opts := &Options{Factory: testFactory(&out, &errOut), Format: format, MinVersion: audit.TLS12, FailOn: failOn, GOOS: "linux",
			Discovery: audit.Options{Root: root, NginxVersion: "1.22.1", NginxConf: nginxConf}}
		err := Run(context.Background(), opts)
		var ee *cmdutil.ExitError
		switch {
		case err == nil:
			return 0, out.String()
		case errors.As(err, &ee):
			return ee.Code, out.String() + err.Error()
		}
		t.Fatalf("unexpected error %v", err)
		return -1, ""
	}
	if code, out := run(cmdutil.FormatText, audit.Medium, ""); code != 3 || !strings.Contains(out, "legacy-protocol-enabled /etc/nginx/nginx.conf:3") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
	if code, out := run(cmdutil.FormatJSON, audit.Medium, ""); code != 3 || !strings.Contains(out, `"schema_version": 1`) {
		t.Errorf("json: exit %d\n%s", code, out)
	}
	if code, _ := run(cmdutil.FormatJSON, audit.Critical, ""); code != 0 {
		t.Errorf("--fail-on critical: exit %d, want 0", code)
	}
	if code, out := run(cmdutil.FormatText, audit.Medium, "/etc/nginx/missing.conf"); code != 2 || !strings.Contains(out, "/etc/nginx/missing.conf") {
		t.Errorf("missing config: exit %d\n%s", code, out)
	}
}

// TestRunOnly: --only reports the named servers and nothing of the others.
func TestRunOnly(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"etc/nginx/nginx.conf":     "events {}\nhttp {\n  ssl_protocols TLSv1 TLSv1.2;\n  server { listen 443 ssl; }\n}\n",
		"etc/apache2/apache2.conf": "LoadModule ssl_module mod_ssl.so\nListen 443\n<VirtualHost *:443>\n  SSLEngine on\n  SSLProtocol all\n</VirtualHost>\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(only cmdutil.Components) string {
		var out, errOut bytes.Buffer
		opts := &Options{Factory: testFactory(&out, &errOut), Format: cmdutil.FormatText, MinVersion: audit.TLS12, FailOn: audit.Medium,
			GOOS: "linux", Only: only, Discovery: audit.Options{Root: root, NginxVersion: "1.22.1",
				NginxConf: "/etc/nginx/nginx.conf", ApacheConf: "/etc/apache2/apache2.conf"}}
		var ee *cmdutil.ExitError
		if err := Run(context.Background(), opts); err != nil && !errors.As(err, &ee) {
			t.Fatalf("only %v: %v", only, err)
		}
		return out.String()
	}
	const nginxHit, apacheHit = "/etc/nginx/nginx.conf:3", "/etc/apache2/apache2.conf:5"
	if out := run(nil); !strings.Contains(out, nginxHit) || !strings.Contains(out, apacheHit) {
		t.Fatalf("all: want both servers in\n%s", out)
	}
	if out := run(cmdutil.Components{"nginx": true}); !strings.Contains(out, nginxHit) || strings.Contains(out, "apache2.conf") {
		t.Errorf("--only nginx:\n%s", out)
	}
	if out := run(cmdutil.Components{"apache": true}); !strings.Contains(out, apacheHit) || strings.Contains(out, "nginx.conf") {
		t.Errorf("--only apache:\n%s", out)
	}
}

// TestRunNamesHost: a report says which machine and tree it describes and
// when it was made, so that a fleet's reports can be told apart.
func TestRunNamesHost(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/nginx"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/nginx/nginx.conf"), []byte("events {}\nhttp {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(format cmdutil.Format) string {
		var out, errOut bytes.Buffer
		f := testFactory(&out, &errOut)
		f.Hostname = func() (string, error) { return "web1.example.test", nil }
		opts := &Options{Factory: f, Format: format, MinVersion: audit.TLS12, FailOn: audit.Medium, GOOS: "linux",
			Discovery: audit.Options{Root: root, NginxVersion: "1.22.1", NginxConf: "/etc/nginx/nginx.conf"}}
		var ee *cmdutil.ExitError
		if err := Run(context.Background(), opts); err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return out.String()
	}
	var doc struct {
		Host        audit.HostInfo `json:"host"`
		GeneratedAt string         `json:"generated_at"`
	}
	if err := json.Unmarshal([]byte(run(cmdutil.FormatJSON)), &doc); err != nil {
		t.Fatal(err)
	}
	want := audit.HostInfo{Name: "web1.example.test", OS: "linux", Root: root}
	if doc.Host != want || doc.GeneratedAt != "2026-11-28T00:00:00Z" {
		t.Errorf("host %+v at %q, want %+v at 2026-11-28T00:00:00Z", doc.Host, doc.GeneratedAt, want)
	}
	if text := run(cmdutil.FormatText); !strings.HasPrefix(text, "tlsfloor test on web1.example.test, tree "+root+" — policy") {
		t.Errorf("text header:\n%s", text)
	}
}
