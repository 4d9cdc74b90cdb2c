package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// checkReloaded waits until the server answers as the fixed configuration
// says (old workers finish their connections after a graceful reload, so
// for a moment either configuration may answer) and reports what differs.
func checkReloaded(t *testing.T, openssl string, port int, errOut *bytes.Buffer) {
	t.Helper()
	want := map[string]bool{"-tls1": false, "-tls1_1": false, "-tls1_2": true, "-tls1_3": true}
	got := map[string]bool{}
	ok := platformtest.Eventually(func() bool {
		all := true
		for flag, w := range want {
			got[flag] = platformtest.Handshake(t, openssl, port, flag)
			all = all && got[flag] == w
		}
		return all
	}, 15*time.Second)
	if !ok {
		t.Errorf("after the fix and reload: handshakes %v, want %v; stderr:\n%s", got, want, errOut)
	}
}

// checkStillHere GETs path over TLS and checks that the site still
// answers "still here".
func checkStillHere(t *testing.T, openssl string, port int, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	get := exec.CommandContext(ctx, openssl, "s_client", "-quiet", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-servername", "localhost")
	get.Stdin = strings.NewReader("GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n")
	if body, _ := get.CombinedOutput(); !bytes.Contains(body, []byte("still here")) {
		t.Errorf("the site does not answer after the fix:\n%s", body)
	}
}

// realNginx is a running Debian nginx on a loopback port that accepts
// TLS 1.0 to 1.2.
type realNginx struct {
	bin, openssl, dir, conf string
	port                    int
}

func startRealNginx(t *testing.T) *realNginx {
	t.Helper()
	nginxBin := platformtest.RequireTool(t, "nginx")
	openssl := platformtest.RequireTool(t, "openssl")
	dir := t.TempDir()
	cert, key := platformtest.SelfSignedCert(t, dir)
	port := platformtest.FreePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	content := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen 127.0.0.1:%[2]d ssl;
        server_name localhost;
        ssl_certificate %[3]s;
        ssl_certificate_key %[4]s;
        ssl_protocols TLSv1 TLSv1.1 TLSv1.2; # legacy clients
        ssl_ciphers DEFAULT:@SECLEVEL=0;
        location / { return 200 "still here\n"; }
    }
}
`, dir, port, cert, key)
	if err := os.WriteFile(conf, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginxBin, "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("start nginx: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(nginxBin, "-s", "quit", "-c", conf).Run() })
	if !platformtest.Eventually(func() bool { return platformtest.Handshake(t, openssl, port, "-tls1_2") }, 15*time.Second) {
		t.Fatal("nginx does not answer TLS 1.2 before the fix")
	}
	return &realNginx{bin: nginxBin, openssl: openssl, dir: dir, conf: conf, port: port}
}

// fixOptions runs the fix for the nginx at conf, with binary bin.
func fixOptions(t *testing.T, dir, conf, bin string, out, errOut *bytes.Buffer) *Options {
	t.Helper()
	// An empty Apache config keeps the fix away from the host's own Apache.
	noApache := filepath.Join(dir, "httpd-empty.conf")
	if err := os.WriteFile(noApache, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ios := cmdutil.Test(strings.NewReader(""), out, errOut)
	runner := platform.ExecRunner{Timeout: 30 * time.Second}
	return &Options{
		Factory: &cmdutil.Factory{IO: ios, Runner: runner, Getenv: os.Getenv, Now: time.Now, Version: "test",
			NewFS: func(root string) platform.FS { return platform.NewOSFS(root) },
			// Reload through the binary only: the test must not touch the
			// host's service manager.
			Services: platform.Services{Runner: runner, Methods: []string{platform.MethodBinary}}},
		Discovery:  audit.Options{NginxConf: conf, NginxBin: bin, ApacheConf: noApache},
		MinVersion: audit.TLS12, TLS13: TLS13Auto, Format: cmdutil.FormatText,
		Yes: true, Reload: true, BackupDir: filepath.Join(t.TempDir(), "backups"), GOOS: "linux",
	}
}

// TestRealNginxFixAndReload runs Debian's nginx on 127.0.0.1 with a config
// that really accepts TLS 1.0/1.1 (OpenSSL 3 needs @SECLEVEL=0 for that,
// otherwise the test could not fail), runs `tlsfloor fix --yes --reload`,
// and shows with openssl s_client that TLS 1.0 and 1.1 are refused, TLS 1.2
// and 1.3 accepted, and that the site still answers.
func TestRealNginxFixAndReload(t *testing.T) {
	n := startRealNginx(t)
	openssl, port := n.openssl, n.port
	if !platformtest.Handshake(t, openssl, port, "-tls1") {
		t.Fatal("TLS 1.0 is refused before the fix: the test could not fail")
	}
	var out, errOut bytes.Buffer
	err := Run(context.Background(), fixOptions(t, n.dir, n.conf, n.bin, &out, &errOut))
	var ee *cmdutil.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Code == 0) {
		t.Fatalf("fix: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	if !strings.Contains(out.String(), "+        ssl_protocols TLSv1.2 TLSv1.3; # legacy clients") {
		t.Errorf("diff:\n%s", &out)
	}
	checkReloaded(t, openssl, port, &errOut)
	checkStillHere(t, openssl, port, "/")
}

// TestRealNginxConfigTestFailsRollsBack: the config test of a server that
// rejects TLSv1.3 (a wrapper around the real nginx, standing in for an nginx
// older than 1.13.0 that still reports a newer version) fails, the fix
// restores the file byte for byte, exits 5, and the running server keeps
// its old configuration and answers.
func TestRealNginxConfigTestFailsRollsBack(t *testing.T) {
	n := startRealNginx(t)
	wrapper := filepath.Join(t.TempDir(), "nginx")
	script := "#!/bin/sh\ncase \" $* \" in *\" -t \"*) if grep -q TLSv1.3 " + n.conf + "; then echo 'nginx: [emerg] invalid value \"TLSv1.3\"' >&2; exit 1; fi;; esac\nexec " + n.bin + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(n.conf)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = Run(context.Background(), fixOptions(t, n.dir, n.conf, wrapper, &out, &errOut))
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != cmdutil.ExitRolledBack {
		t.Fatalf("err = %v, want exit 5\nstderr:\n%s", err, &errOut)
	}
	if !strings.Contains(errOut.String(), `invalid value "TLSv1.3"`) {
		t.Errorf("the config test's output is not shown:\n%s", &errOut)
	}
	after, err := os.ReadFile(n.conf)
	if err != nil || !bytes.Equal(after, before) {
		t.Fatalf("config not restored byte for byte (%v)", err)
	}
	if !platformtest.Handshake(t, n.openssl, n.port, "-tls1") || !platformtest.Handshake(t, n.openssl, n.port, "-tls1_2") {
		t.Error("the server is not up on its old configuration")
	}
}

// TestRealApacheFixAndReload runs Debian's apache2 on 127.0.0.1 with
// `SSLProtocol all` and security level 0 (so TLS 1.0/1.1 really work), runs
// `tlsfloor fix --yes --reload`, and shows with openssl s_client that TLS
// 1.0 and 1.1 are refused afterwards, TLS 1.2 and 1.3 accepted, and the site
// still answers.
func TestRealApacheFixAndReload(t *testing.T) {
	openssl := platformtest.RequireTool(t, "openssl")
	dir := t.TempDir()
	// The workers (www-data) read the document root: open the test's
	// directories for traversal.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cert, key := platformtest.SelfSignedCert(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "www/index.html"), []byte("still here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := platformtest.ApacheTLS{
		Dir: dir, Port: platformtest.FreePort(t), Cert: cert, Key: key,
		Modules: []string{"authz_core"}, User: "www-data",
		VHost: `SSLProtocol all
SSLCipherSuite DEFAULT:@SECLEVEL=0
DocumentRoot ` + dir + `/www
<Directory ` + dir + `/www>
	AllowOverride None
	Require all granted
</Directory>`,
	}
	conf, apache := srv.Write(t)
	port := srv.Port
	if out, err := exec.Command(apache, "-f", conf, "-k", "start").CombinedOutput(); err != nil {
		t.Fatalf("start apache2: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(apache, "-f", conf, "-k", "stop").Run() })
	if !platformtest.Eventually(func() bool { return platformtest.Handshake(t, openssl, port, "-tls1_2") }, 15*time.Second) {
		t.Fatal("apache2 does not answer TLS 1.2 before the fix")
	}
	if !platformtest.Handshake(t, openssl, port, "-tls1") {
		t.Fatal("TLS 1.0 is refused before the fix: the test could not fail")
	}

	// An empty nginx config keeps the fix away from the host's own nginx.
	noNginx := filepath.Join(dir, "nginx-empty.conf")
	if err := os.WriteFile(noNginx, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	opts := fixOptions(t, dir, noNginx, "", &out, &errOut)
	opts.Discovery = audit.Options{NginxConf: noNginx, ApacheConf: conf, ApacheBin: apache}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatalf("fix: %v\nstdout:\n%s\nstderr:\n%s", err, &out, &errOut)
	}
	if !strings.Contains(out.String(), "+\tSSLProtocol -all +TLSv1.2 +TLSv1.3\n") {
		t.Errorf("diff:\n%s", &out)
	}
	checkReloaded(t, openssl, port, &errOut)
	checkStillHere(t, openssl, port, "/index.html")
}
