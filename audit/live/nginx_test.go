package live

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform/probe"
)

// needTool skips without the tool, except under CI=true, where a missing
// tool fails the test.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
	return cert, key
}

// TestLiveAgainstRealNginx runs Debian's nginx (private config, pid and
// logs in a temp dir) with a legacy server at SECLEVEL=0 and one whose
// config says TLSv1 but OpenSSL 3 refuses it, then audits it with the real
// prober: the first must give live-legacy-accepted, the second live-differs.
func TestLiveAgainstRealNginx(t *testing.T) {
	bin := needTool(t, "nginx")
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	legacy, claims := freePort(t), freePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	body := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[2]s/b; proxy_temp_path %[2]s/p; fastcgi_temp_path %[2]s/f; uwsgi_temp_path %[2]s/u; scgi_temp_path %[2]s/s;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:%[5]d ssl;
        ssl_ciphers 'DEFAULT:@SECLEVEL=0';
    }
    server {
        listen 127.0.0.1:%[6]d ssl;
    }
}
`, user, dir, cert, key, legacy, claims)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for _, p := range []int{legacy, claims} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), 200*time.Millisecond)
			if err == nil {
				_ = c.Close()
				break
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
				t.Fatalf("nginx does not listen on %d:\n%s", p, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	e := env()
	e.Options.NginxConf = conf
	e.Options.NginxVersion = "1.22.1"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := New(probe.New(probe.Options{}), NginxListeners).Scan(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(res.Findings)
	want := []string{"live-differs/medium/TLSv1.0 TLSv1.1", "live-legacy-accepted/high/TLSv1.0 TLSv1.1"}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	for _, f := range res.Findings {
		wantLine := 13 // the legacy server block
		if f.ID == "live-differs" {
			wantLine = 17
		}
		if f.File != conf || f.Line != wantLine {
			t.Errorf("%s at %s:%d, want line %d", f.ID, f.File, f.Line, wantLine)
		}
	}
}
