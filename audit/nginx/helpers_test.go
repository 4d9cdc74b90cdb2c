package nginx

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// fakeNginx is a scripted nginx binary at /fake/nginx whose -V prints the
// given version and OpenSSL line to stderr, as nginx does.
func fakeNginx(version, openssl, confPath string) *platformtest.Runner {
	var b strings.Builder
	b.WriteString("nginx version: nginx/" + version + "\n")
	if openssl != "" {
		b.WriteString("built with " + openssl + "\n")
	}
	b.WriteString("TLS SNI support enabled\nconfigure arguments: --prefix=/usr/share/nginx")
	if confPath != "" {
		b.WriteString(" --conf-path=" + confPath)
	}
	b.WriteString("\n")
	return &platformtest.Runner{Script: map[string]platform.Output{
		"/fake/nginx -V": {Stderr: []byte(b.String())},
	}}
}

// testEnv is an Env over root with a fixed clock.
func testEnv(root string, runner platform.Runner, opts audit.Options) *audit.Env {
	opts.Root = root
	if runner == nil {
		runner = &platformtest.Runner{}
	}
	return &audit.Env{
		FS:      platform.NewOSFS(root),
		Runner:  runner,
		Getenv:  func(string) string { return "" },
		Now:     func() time.Time { return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) },
		Policy:  audit.DefaultPolicy(),
		Options: opts,
	}
}

// analyzeTree writes files and analyzes /etc/nginx/nginx.conf with nginx
// version (and, when openssl is set, a fake nginx -V naming it).
func analyzeTree(t *testing.T, files map[string]string, version, openssl string, min audit.Protocol) *Analysis {
	t.Helper()
	a, err := analyzeTreeErr(t, files, version, openssl, min)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return a
}

func analyzeTreeErr(t *testing.T, files map[string]string, version, openssl string, min audit.Protocol) (*Analysis, error) {
	t.Helper()
	root := platformtest.WriteTree(t, files)
	opts := audit.Options{NginxConf: "/etc/nginx/nginx.conf", NginxVersion: version}
	var runner platform.Runner
	if openssl != "" {
		opts.NginxBin = "/fake/nginx"
		runner = fakeNginx(version, openssl, "")
	}
	env := testEnv(root, runner, opts)
	if min != 0 {
		env.Policy.MinProtocol = min
	}
	return Analyze(context.Background(), env)
}

func set(ps ...audit.Protocol) audit.ProtocolSet { return audit.Set(ps...) }

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func analyzeRoot(t *testing.T, root string) *Analysis {
	t.Helper()
	env := testEnv(root, nil, audit.Options{NginxConf: conf, NginxVersion: "1.22.1"})
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
