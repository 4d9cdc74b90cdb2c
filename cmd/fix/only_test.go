package fix

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
)

func TestOnlyFlag(t *testing.T) {
	tests := []struct {
		args    []string
		want    cmdutil.Components
		wantErr string
	}{
		{nil, nil, ""},
		{[]string{"--only", "nginx"}, cmdutil.Components{"nginx": true}, ""},
		{[]string{"--only", "Apache,nginx"}, cmdutil.Components{"nginx": true, "apache": true}, ""},
		{[]string{"--only", "openssl"}, nil, `invalid --only "openssl": want nginx, apache`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *Options
			var out, errOut bytes.Buffer
			f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), &out, &errOut), Getenv: func(string) string { return "" }}
			cmd := NewCmdFix(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&out)
			cmd.SetErr(&errOut)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !cmdutil.IsFlagError(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got == nil || len(got.Only) != len(tt.want) {
				t.Fatalf("err = %v, Only = %v, want %v", err, got, tt.want)
			}
			for k := range tt.want {
				if !got.Only[k] {
					t.Errorf("Only = %v, want %v", got.Only, tt.want)
				}
			}
		})
	}
}

// TestFilesOnly: with nginx and Apache both allowing TLS 1.0, --only plans
// and writes the named server's files and leaves the other's bytes alone.
func TestFilesOnly(t *testing.T) {
	const apacheConf = "LoadModule ssl_module mod_ssl.so\nListen 443\n<VirtualHost *:443>\n  SSLEngine on\n  SSLProtocol all\n</VirtualHost>\n"
	setup := func(t *testing.T) (*filesRun, string) {
		r := newFilesRun(t, legacyNginx)
		p := filepath.Join(r.root, "etc/apache2/apache2.conf")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(apacheConf), 0o644); err != nil {
			t.Fatal(err)
		}
		r.opts.Discovery.ApacheConf = "/etc/apache2/apache2.conf"
		return r, p
	}
	read := func(t *testing.T, p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	r, apachePath := setup(t)
	r.opts.DryRun = true
	if code := r.exec(t); code != cmdutil.ExitNonCompliant ||
		!strings.Contains(r.out.String(), "+++ b/etc/nginx/nginx.conf") || !strings.Contains(r.out.String(), "+++ b/etc/apache2/apache2.conf") {
		t.Fatalf("no --only: exit %d, want both files in the diff:\n%s%s", code, r.out, r.errOut)
	}

	r.opts.DryRun, r.opts.Yes = false, true
	r.opts.Only = cmdutil.Components{"apache": true}
	if code := r.exec(t); code != 0 || strings.Contains(r.out.String(), "nginx.conf") {
		t.Fatalf("--only apache: exit %d, diff:\n%s%s", code, r.out, r.errOut)
	}
	if r.conf(t) != legacyNginx {
		t.Errorf("--only apache changed nginx.conf:\n%s", r.conf(t))
	}
	if got := read(t, apachePath); got == apacheConf || !strings.Contains(got, "SSLProtocol") {
		t.Errorf("--only apache left apache2.conf as it was:\n%s", got)
	}

	r, apachePath = setup(t)
	r.opts.Yes = true
	r.opts.Only = cmdutil.Components{"nginx": true}
	if code := r.exec(t); code != 0 || strings.Contains(r.out.String(), "apache2.conf") {
		t.Fatalf("--only nginx: exit %d, diff:\n%s%s", code, r.out, r.errOut)
	}
	if read(t, apachePath) != apacheConf {
		t.Errorf("--only nginx changed apache2.conf")
	}
	if r.conf(t) == legacyNginx {
		t.Errorf("--only nginx left nginx.conf as it was")
	}
}
