package probe

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// startApache runs Debian's httpd with one TLS virtual host on a loopback
// port: every protocol, DEFAULT:@SECLEVEL=0, and mod_ssl's built-in DH
// parameters, so DHE suites are on as on many old Apache servers.
func startApache(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cert, key := platformtest.SelfSignedCert(t, dir)
	a := platformtest.ApacheTLS{
		Dir: dir, Port: platformtest.FreePort(t), Cert: cert, Key: key,
		VHost: "SSLCipherSuite DEFAULT:@SECLEVEL=0\nSSLProtocol all",
	}
	conf, httpd := a.Write(t)
	platformtest.Start(t, exec.Command(httpd, "-f", conf, "-DFOREGROUND"), syscall.SIGTERM)
	addr := fmt.Sprintf("127.0.0.1:%d", a.Port)
	if !platformtest.Eventually(func() bool { return platformtest.Listening(addr) }, 15*time.Second) {
		t.Fatalf("httpd did not listen on %d:\n%s", a.Port, a.ErrorLog())
	}
	return addr
}

// TestApacheCiphersMatchNmap: Apache answers a hello whose ALPN protocols
// it does not speak with a ServerHello for its own default protocol, so
// the DHE check (dhecheck.go) cannot spare it the signatures and falls
// back to offer-and-remove. The lists must still be nmap's, DHE included.
func TestApacheCiphersMatchNmap(t *testing.T) {
	platformtest.RequireTool(t, "nmap")
	addr := startApache(t)
	tg := &target{addr: addr, timeout: 5 * time.Second, sem: make(chan struct{}, 1), dialer: defaultDialer(net.IPv4(127, 0, 0, 1))}
	if o := tg.handshake(context.Background(), hello{version: platform.VersionTLS12, suites: []uint16{0x0033}, alpnCheck: true}, false); !o.accepted {
		t.Errorf("Apache with ALPN %q: %v, want a ServerHello", checkProtocol, o.err)
	}
	sameAsNmap(t, addr)
	res := probeOK(t, platform.ProbeRequest{Address: addr, Ciphers: true})
	dhe := 0
	for _, c := range res.Ciphers {
		if strings.HasPrefix(c.Name, "TLS_DHE_") {
			dhe++
		}
	}
	if dhe == 0 {
		t.Errorf("no DHE suites found; mod_ssl's built-in DH parameters enable them: %v", res.Ciphers)
	}
}
