package apache

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// TestRealApacheProtocols starts the real httpd with each SSLProtocol line
// on a loopback port and checks that the protocols `openssl s_client` can
// negotiate are exactly the effective set tlsfloor computes: the +/-/bare
// algebra and the closing of holes, as mod_ssl really applies them. Both
// sides use @SECLEVEL=0 so OpenSSL 3 does not refuse TLS 1.0/1.1 on its own.
func TestRealApacheProtocols(t *testing.T) {
	ossl := platformtest.RequireTool(t, "openssl")
	dir := t.TempDir()
	cert, key := platformtest.SelfSignedCert(t, dir)
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
			sub := filepath.Join(dir, strconv.Itoa(i))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			srv := platformtest.ApacheTLS{
				Dir: sub, Port: platformtest.FreePort(t), Cert: cert, Key: key,
				VHost: "SSLCipherSuite DEFAULT:@SECLEVEL=0\nSSLProtocol " + line,
			}
			conf, httpd := srv.Write(t)
			port := srv.Port
			a, err := Analyze(context.Background(), realEnv(audit.Options{ApacheConf: conf}))
			if err != nil {
				t.Fatal(err)
			}
			if len(a.VHosts) != 1 || !a.VHosts[0].SSLEngine {
				t.Fatalf("vhosts %+v", a.VHosts)
			}
			want := a.VHosts[0].Effective

			// SIGTERM lets httpd stop its children.
			platformtest.Start(t, exec.Command(httpd, "-f", conf, "-DFOREGROUND"), syscall.SIGTERM)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			if !platformtest.Eventually(func() bool { return platformtest.Listening(addr) }, 15*time.Second) {
				t.Fatalf("httpd did not listen on %d:\n%s", port, srv.ErrorLog())
			}
			var got audit.ProtocolSet
			for _, pr := range probes {
				if platformtest.Handshake(t, ossl, port, pr.flag) {
					got = got.With(pr.p)
				}
			}
			t.Logf("SSLProtocol %s: negotiated %v", line, got)
			if got != want {
				t.Errorf("SSLProtocol %s: httpd negotiates %v, tlsfloor says %v", line, got, want)
			}
		})
	}
}
