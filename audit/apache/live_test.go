package apache

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
)

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestRealApacheProtocols starts the real httpd with each SSLProtocol line
// on a loopback port and checks that the protocols `openssl s_client` can
// negotiate are exactly the effective set tlsfloor computes: the +/-/bare
// algebra and the closing of holes, as mod_ssl really applies them. Both
// sides use @SECLEVEL=0 so OpenSSL 3 does not refuse TLS 1.0/1.1 on its own.
func TestRealApacheProtocols(t *testing.T) {
	httpd := needTool(t, "apache2")
	ossl := needTool(t, "openssl")
	mods := "/usr/lib/apache2/modules"
	if _, err := os.Stat(filepath.Join(mods, "mod_ssl.so")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mod_ssl.so missing under CI=true: %v", err)
		}
		t.Skipf("mod_ssl.so missing: %v", err)
	}
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if out, err := exec.Command(ossl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=localhost", "-keyout", key, "-out", cert).CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	probes := []struct {
		p    audit.Protocol
		flag string
	}{{audit.TLS10, "-tls1"}, {audit.TLS11, "-tls1_1"}, {audit.TLS12, "-tls1_2"}, {audit.TLS13, "-tls1_3"}}

	for i, line := range []string{
		"-all +TLSv1 +TLSv1.2", // a hole: httpd configures TLS 1.2 only
		"all -SSLv3",           // TLS 1.0 to 1.3
		"TLSv1.2 TLSv1.3",      // a bare keyword replaces: TLS 1.3 only
		"all -TLSv1.3",         // TLS 1.0 to 1.2
	} {
		t.Run(line, func(t *testing.T) {
			port := freePort(t)
			sub := filepath.Join(dir, strconv.Itoa(i))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			user := ""
			if os.Geteuid() == 0 {
				user = "User nobody\nGroup nogroup\n"
			}
			conf := filepath.Join(sub, "httpd.conf")
			src := fmt.Sprintf(`ServerRoot %[1]s
DefaultRuntimeDir %[1]s
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
LoadModule mpm_event_module %[2]s/mod_mpm_event.so
LoadModule ssl_module %[2]s/mod_ssl.so
ServerName localhost
%[3]sListen 127.0.0.1:%[4]d
<VirtualHost 127.0.0.1:%[4]d>
	SSLEngine on
	SSLCertificateFile %[5]s
	SSLCertificateKeyFile %[6]s
	SSLCipherSuite DEFAULT:@SECLEVEL=0
	SSLProtocol %[7]s
</VirtualHost>
`, sub, mods, user, port, cert, key, line)
			if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := Analyze(context.Background(), realEnv(audit.Options{ApacheConf: conf}))
			if err != nil {
				t.Fatal(err)
			}
			if len(a.VHosts) != 1 || !a.VHosts[0].SSLEngine {
				t.Fatalf("vhosts %+v", a.VHosts)
			}
			want := a.VHosts[0].Effective

			cmd := exec.Command(httpd, "-f", conf, "-DFOREGROUND")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				// SIGTERM lets httpd stop its children; kill if it hangs.
				_ = cmd.Process.Signal(syscall.SIGTERM)
				done := make(chan struct{})
				go func() { _ = cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-done
				}
			})
			up := false
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
					c.Close()
					up = true
					break
				}
			}
			if !up {
				log, _ := os.ReadFile(filepath.Join(sub, "error.log"))
				t.Fatalf("httpd did not listen on %d:\n%s", port, log)
			}
			var got audit.ProtocolSet
			for _, pr := range probes {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c := exec.CommandContext(ctx, ossl, "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port),
					"-servername", "localhost", pr.flag, "-cipher", "DEFAULT:@SECLEVEL=0")
				c.Stdin = nil
				if c.Run() == nil {
					got = got.With(pr.p)
				}
				cancel()
			}
			t.Logf("SSLProtocol %s: negotiated %v", line, got)
			if got != want {
				t.Errorf("SSLProtocol %s: httpd negotiates %v, tlsfloor says %v", line, got, want)
			}
		})
	}
}
