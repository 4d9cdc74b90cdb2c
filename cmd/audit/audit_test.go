package audit

import (
	"bytes"
	"context"
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
	tests := []struct {
		args    []string
		check   func(*Options) bool
		wantErr string
	}{
		{nil, func(o *Options) bool {
			return o.Format == cmdutil.FormatText && o.MinVersion == audit.TLS12 && o.FailOn == audit.Medium && !o.Live
		}, ""},
		{[]string{"--format", "json", "--min-version", "1.3", "--fail-on", "HIGH", "--live", "--root", "/mnt"}, func(o *Options) bool {
			return o.Format == cmdutil.FormatJSON && o.MinVersion == audit.TLS13 && o.FailOn == audit.High && o.Live && o.Discovery.Root == "/mnt"
		}, ""},
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
