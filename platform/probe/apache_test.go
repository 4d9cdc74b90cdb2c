package probe

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
	httpd := platformtest.RequireTool(t, "apache2")
	mods := "/usr/lib/apache2/modules"
	platformtest.RequireTool(t, filepath.Join(mods, "mod_ssl.so"))
	dir := t.TempDir()
	cert, key := platformtest.SelfSignedCert(t, dir)
	port := platformtest.FreePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "User nobody\nGroup nogroup\n"
	}
	conf := filepath.Join(dir, "httpd.conf")
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
	SSLProtocol all
</VirtualHost>
`, dir, mods, user, port, cert, key)
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	platformtest.Start(t, exec.Command(httpd, "-f", conf, "-DFOREGROUND"), syscall.SIGTERM)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !platformtest.Eventually(func() bool { return platformtest.Listening(addr) }, 15*time.Second) {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("httpd did not listen on %d:\n%s", port, log)
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
