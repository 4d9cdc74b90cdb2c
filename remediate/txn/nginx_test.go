//go:build unix

package txn

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// nginxSite is a test-local nginx: config, pid, logs and certificate in a
// temporary directory, listening with TLS on a free loopback port.
type nginxSite struct {
	bin, dir, conf, addr string
	before               []byte
}

func newNginxSite(t *testing.T, protocols string) *nginxSite {
	t.Helper()
	bin := platformtest.RequireTool(t, "nginx")
	dir := t.TempDir()
	platformtest.SelfSignedCertECDSA(t, dir) // dir/cert.pem, dir/key.pem
	addr := fmt.Sprintf("127.0.0.1:%d", platformtest.FreePort(t))
	s := &nginxSite{bin: bin, dir: dir, conf: filepath.Join(dir, "nginx.conf"), addr: addr}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers must read the certificate in a 0700 temp dir
	}
	// SECLEVEL=0: OpenSSL 3 refuses TLS 1.0/1.1 otherwise, and the test
	// must see them accepted before the fix or it proves nothing.
	conf := fmt.Sprintf(`%sdaemon on;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 32; }
http {
	access_log off;
	client_body_temp_path %[2]s/tmp;
	proxy_temp_path %[2]s/tmp;
	fastcgi_temp_path %[2]s/tmp;
	uwsgi_temp_path %[2]s/tmp;
	scgi_temp_path %[2]s/tmp;
	ssl_protocols %[3]s; # protocols
	ssl_ciphers DEFAULT:@SECLEVEL=0;
	include %[2]s/conf.d/*;
	server {
		listen %[4]s ssl;
		ssl_certificate %[2]s/cert.pem;
		ssl_certificate_key %[2]s/key.pem;
		location / { return 200 "ok\n"; }
	}
}
`, user, dir, protocols, addr)
	os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
	os.Mkdir(filepath.Join(dir, "conf.d"), 0o755)
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s.before = []byte(conf)
	return s
}

func (s *nginxSite) testArgv() []string {
	return []string{s.bin, "-t", "-q", "-e", filepath.Join(s.dir, "error.log"), "-c", s.conf}
}

func (s *nginxSite) start(t *testing.T) {
	t.Helper()
	out, err := platform.ExecRunner{}.Run(context.Background(), []string{s.bin, "-e", filepath.Join(s.dir, "error.log"), "-c", s.conf})
	if err != nil {
		t.Fatalf("start nginx: %v %s", err, out.Stderr)
	}
	t.Cleanup(func() {
		platform.ExecRunner{}.Run(context.Background(), []string{s.bin, "-e", filepath.Join(s.dir, "error.log"), "-c", s.conf, "-s", "stop"})
	})
	if !platformtest.Eventually(func() bool { return platformtest.Listening(s.addr) }, 5*time.Second) {
		t.Fatalf("nginx did not listen on %s", s.addr)
	}
}

// handshake tries one TLS version against the site.
func (s *nginxSite) handshake(v uint16) error {
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", s.addr, &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	if err != nil {
		return err
	}
	return c.Close()
}

// waitProtocols polls until nginx's workers answer as wanted: a reload
// returns before the new workers take over.
func (s *nginxSite) waitProtocols(want map[uint16]bool) error {
	var last error
	for i := 0; i < 100; i++ {
		last = nil
		for v, ok := range want {
			if err := s.handshake(v); (err == nil) != ok {
				last = fmt.Errorf("%s: accepted=%v, want %v (%v)", tls.VersionName(v), err == nil, ok, err)
			}
		}
		if last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last
}

func (s *nginxSite) plan(t *testing.T, from, to string) *remediate.Plan {
	t.Helper()
	fc := remediate.NewFileChange(s.conf, s.conf, s.before, 0o644)
	i := bytes.Index(s.before, []byte(from))
	if i < 0 {
		t.Fatalf("%q not in config", from)
	}
	fc.Edits = []remediate.Edit{{Start: i, End: i + len(from), New: to}}
	return &remediate.Plan{Files: []remediate.FileChange{fc},
		Servers: []remediate.Server{{Kind: "nginx", Main: s.conf, Binary: s.bin, TestArgv: s.testArgv()}}}
}

// The real nginx config test rejects a broken edit, and the file is
// restored byte for byte.
func TestApplyRealNginxConfigTestFailure(t *testing.T) {
	s := newNginxSite(t, "TLSv1 TLSv1.1 TLSv1.2")
	deps := Deps{FS: platform.NewOSWriter(""), Runner: platform.ExecRunner{Timeout: 20 * time.Second}}
	_, err := Apply(context.Background(), deps, s.plan(t, "TLSv1 TLSv1.1 TLSv1.2", "TLSv1.2 TLSv9"), Options{BackupDir: filepath.Join(t.TempDir(), "b")})
	var rb *RolledBackError
	if !errors.As(err, &rb) || rb.Stage != "config test" {
		t.Fatalf("err = %v, want RolledBackError at config test", err)
	}
	if !strings.Contains(rb.Output, `invalid value "TLSv9"`) {
		t.Errorf("nginx's output not passed on: %q", rb.Output)
	}
	if got, _ := os.ReadFile(s.conf); !bytes.Equal(got, s.before) {
		t.Errorf("config not restored:\n%s", got)
	}
}

// A running nginx: the fix is written, tested with nginx -t, reloaded
// with nginx -s reload, and verified by handshakes; TLS 1.0/1.1 were
// accepted before and are refused after. A verification failure on a
// second run rolls back to a config that nginx serves again.
func TestApplyRealNginxReloadAndVerify(t *testing.T) {
	s := newNginxSite(t, "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3")
	s.start(t)
	if err := s.waitProtocols(map[uint16]bool{tls.VersionTLS10: true, tls.VersionTLS11: true, tls.VersionTLS12: true}); err != nil {
		t.Fatalf("before the fix: %v", err)
	}
	services := platform.Services{Runner: platform.ExecRunner{Timeout: 20 * time.Second}, Methods: []string{platform.MethodBinary}}
	deps := Deps{FS: platform.NewOSWriter(""), Runner: platform.ExecRunner{Timeout: 20 * time.Second}, Services: services}
	backups := filepath.Join(t.TempDir(), "b")
	fixedWant := map[uint16]bool{tls.VersionTLS10: false, tls.VersionTLS11: false, tls.VersionTLS12: true, tls.VersionTLS13: true}
	res, err := Apply(context.Background(), deps, s.plan(t, "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "TLSv1.2 TLSv1.3"), Options{
		BackupDir: backups, Reload: true,
		Verify: func(context.Context) error { return s.waitProtocols(fixedWant) },
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !res.Verified || len(res.Reload) != 1 || res.Reload[0].Method != platform.MethodBinary {
		t.Errorf("result %+v", res)
	}

	// Rolling back with --reload brings TLS 1.0 back: the real server runs
	// the restored file.
	if _, err := Rollback(context.Background(), deps, RollbackOptions{BackupDir: backups, Last: true, Reload: true}); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if err := s.waitProtocols(map[uint16]bool{tls.VersionTLS10: true}); err != nil {
		t.Fatalf("after rollback: %v", err)
	}
	if got, _ := os.ReadFile(s.conf); !bytes.Equal(got, s.before) {
		t.Errorf("config not restored")
	}

	// Verification that fails after a real reload: restore, reload again,
	// and the server is back on its old config.
	_, err = Apply(context.Background(), deps, s.plan(t, "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "TLSv1.2 TLSv1.3"), Options{
		BackupDir: backups, Reload: true,
		Verify: func(context.Context) error {
			if err := s.waitProtocols(fixedWant); err != nil {
				return err
			}
			return errors.New("pretend a listener still accepts TLSv1.1")
		},
	})
	var rb *RolledBackError
	if !errors.As(err, &rb) || rb.Stage != "verify" {
		t.Fatalf("err = %v, want RolledBackError at verify", err)
	}
	if err := s.waitProtocols(map[uint16]bool{tls.VersionTLS10: true, tls.VersionTLS12: true}); err != nil {
		t.Fatalf("after the automatic rollback: %v", err)
	}
	if got, _ := os.ReadFile(s.conf); !bytes.Equal(got, s.before) {
		t.Errorf("config not restored after the automatic rollback")
	}
}

// While a file is being replaced, its temporary twin sits next to it. The
// real nginx, told to `include conf.d/*`, must not load it: the twin
// defines the same upstream, which nginx would reject as a duplicate.
func TestRealNginxIgnoresTemporaryFile(t *testing.T) {
	s := newNginxSite(t, "TLSv1.2")
	inc := filepath.Join(s.dir, "conf.d", "up.conf")
	before := []byte("upstream backend_only_once { server 127.0.0.1:9; }\nproxy_ssl_protocols TLSv1 TLSv1.2;\n")
	if err := os.WriteFile(inc, before, 0o644); err != nil {
		t.Fatal(err)
	}
	fc := remediate.NewFileChange(inc, inc, before, 0o644)
	i := bytes.Index(before, []byte("TLSv1 TLSv1.2"))
	fc.Edits = []remediate.Edit{{Start: i, End: i + len("TLSv1 TLSv1.2"), New: "TLSv1.2 TLSv1.3"}}
	plan := &remediate.Plan{Files: []remediate.FileChange{fc},
		Servers: []remediate.Server{{Kind: "nginx", Main: s.conf, Binary: s.bin, TestArgv: s.testArgv()}}}
	w := platform.NewOSWriter("")
	runner := platform.ExecRunner{Timeout: 20 * time.Second}
	var midTest error
	var tempSeen bool
	w.Hook = func(step platform.AtomicStep, name string) error {
		if step != platform.StepRename || name != inc {
			return nil
		}
		matches, _ := filepath.Glob(filepath.Join(s.dir, "conf.d", platform.TempPattern))
		tempSeen = len(matches) == 1
		out, err := runner.Run(context.Background(), s.testArgv())
		if err != nil {
			midTest = fmt.Errorf("%v: %s", err, out.Stderr)
		}
		return nil
	}
	if _, err := Apply(context.Background(), Deps{FS: w, Runner: runner}, plan, Options{BackupDir: filepath.Join(t.TempDir(), "b")}); err != nil {
		t.Fatal(err)
	}
	if !tempSeen {
		t.Fatal("no temporary file in conf.d during the write; the test proves nothing")
	}
	if midTest != nil {
		t.Fatalf("nginx -t during the write failed (did it include the temporary file?): %v", midTest)
	}
	// Control: the same twin under a name the glob does match is loaded.
	os.WriteFile(filepath.Join(s.dir, "conf.d", "twin.tmp"), before, 0o644)
	if out, err := runner.Run(context.Background(), s.testArgv()); err == nil || !strings.Contains(string(out.Stderr), "duplicate upstream") {
		t.Fatalf("control: nginx -t with a visible twin: %v %s", err, out.Stderr)
	}
}
