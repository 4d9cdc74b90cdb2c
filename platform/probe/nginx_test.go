package probe

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// freePort asks the kernel for an unused loopback port. Another process
// could take it before the server binds it; on a test machine that is rare
// and shows up as a failure to start, not as a wrong verdict.
func freePortString(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// nginxServers are the four fixtures of reference/probe.md §0.
type nginxServers struct {
	legacy, modern, claims10, sha1 string
	// prefer imposes its own order (ssl_prefer_server_ciphers on).
	prefer string
	// conf is the config file and master the nginx master process, for
	// reload tests.
	conf   string
	master *os.Process
}

// startNginx runs Debian's nginx as a private instance (own config, pid,
// logs and temp paths in a temp dir, in the foreground) with four TLS
// servers on loopback ports chosen now.
func startNginx(t testing.TB) nginxServers {
	t.Helper()
	bin := platformtest.RequireTool(t, "nginx")
	openssl := platformtest.RequireTool(t, "openssl")
	dir := t.TempDir()
	cert, key := writeCert(t, dir, false)
	dh := filepath.Join(dir, "dhparam.pem")
	// A named FFDHE group costs no prime search; it makes DHE suites live.
	if out, err := exec.Command(openssl, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048", "-out", dh).CombinedOutput(); err != nil {
		t.Fatalf("dhparam: %v\n%s", err, out)
	}
	s := nginxServers{
		legacy: "127.0.0.1:" + freePortString(t), modern: "127.0.0.1:" + freePortString(t),
		claims10: "127.0.0.1:" + freePortString(t), sha1: "127.0.0.1:" + freePortString(t),
		prefer: "127.0.0.1:" + freePortString(t),
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers would switch to nobody and lose the temp dir
	}
	server := func(addr, directives string) string {
		return fmt.Sprintf(`
    server {
        listen %s ssl;
        ssl_certificate %s;
        ssl_certificate_key %s;
        %s
        return 200 "ok\n";
    }`, addr, cert, key, directives)
	}
	conf := fmt.Sprintf(`%s
daemon off;
worker_processes 2;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
%s%s%s%s%s
}
`, user, dir,
		server(s.legacy, "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; ssl_ciphers 'DEFAULT:@SECLEVEL=0'; ssl_dhparam "+dh+";"),
		server(s.modern, "ssl_protocols TLSv1.2 TLSv1.3;"),
		server(s.claims10, "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;"),
		server(s.sha1, "ssl_protocols TLSv1.2; ssl_ciphers 'ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0'; ssl_conf_command SignatureAlgorithms RSA+SHA1;"),
		server(s.prefer, "ssl_protocols TLSv1.2; ssl_prefer_server_ciphers on; ssl_ciphers 'AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256';"),
	)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown of master and workers
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = out.Close()
	})
	for _, a := range []string{s.legacy, s.modern, s.claims10, s.sha1, s.prefer} {
		waitListening(t, a, filepath.Join(dir, "error.log"))
	}
	s.conf, s.master = confPath, cmd.Process
	return s
}

func waitListening(t testing.TB, addr, log string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(log)
	t.Fatalf("nothing listens on %s:\n%s", addr, b)
}

var versionFlags = map[platform.TLSVersion]string{
	platform.VersionTLS10: "-tls1", platform.VersionTLS11: "-tls1_1",
	platform.VersionTLS12: "-tls1_2", platform.VersionTLS13: "-tls1_3",
}

func TestNginx(t *testing.T) {
	s := startNginx(t)
	v10, v11, v12, v13 := platform.VersionTLS10, platform.VersionTLS11, platform.VersionTLS12, platform.VersionTLS13
	tests := []struct {
		name string
		addr string
		want []platform.TLSVersion
	}{
		{"legacy with SECLEVEL=0", s.legacy, []platform.TLSVersion{v10, v11, v12, v13}},
		{"modern", s.modern, []platform.TLSVersion{v12, v13}},
		// The config says TLSv1 and TLSv1.1, but OpenSSL 3 at security
		// level 1 refuses them: the live answer must say refused.
		{"config claims TLS 1.0", s.claims10, []platform.TLSVersion{v12, v13}},
		{"SHA-1 signer", s.sha1, []platform.TLSVersion{v12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := probeOK(t, platform.ProbeRequest{Address: tt.addr, Ciphers: true, Certificate: true})
			if res.Error != "" {
				t.Fatal(res.Error)
			}
			if got := res.Accepted(); !slices.Equal(got, tt.want) {
				t.Errorf("accepted %v, want %v", got, tt.want)
			}
			// The independent check: openssl s_client at SECLEVEL=0.
			for v, flag := range versionFlags {
				want, _ := sClientAccepts(t, tt.addr, flag)
				if got := slices.Contains(res.Accepted(), v); got != want {
					t.Errorf("%s: probe %v, s_client %v", v, got, want)
				}
			}
			if res.Certificate == nil || !strings.HasPrefix(res.Certificate.Subject, "CN=localhost") {
				t.Errorf("certificate %+v", res.Certificate)
			}
		})
	}
	t.Run("server preference order", func(t *testing.T) {
		res := probeOK(t, platform.ProbeRequest{Address: s.prefer, Ciphers: true})
		var names []string
		for _, c := range res.Ciphers {
			names = append(names, c.Name)
		}
		// The configured order, weakest first on purpose: our offer order
		// would put it last, so only the server's order explains it.
		want := []string{"TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
		if !slices.Equal(names, want) {
			t.Errorf("suites %v, want the server's order %v", names, want)
		}
		if o := versionMap(res)[platform.VersionTLS12].ServerOrder; o != "server" {
			t.Errorf("order %q, want server", o)
		}
		mod := probeOK(t, platform.ProbeRequest{Address: s.modern, Ciphers: true})
		if o := versionMap(mod)[platform.VersionTLS12].ServerOrder; o != "client" {
			t.Errorf("nginx default (ssl_prefer_server_ciphers off): order %q, want client", o)
		}
		// The server follows us, so its suites are listed in our offer
		// order (strongest first), not in the order the chains found them.
		rank := map[uint16]int{}
		for i, c := range offerOrder(platform.VersionTLS12) {
			rank[c] = i
		}
		last := -1
		for _, c := range mod.Ciphers {
			if c.Version != platform.VersionTLS12 {
				continue
			}
			if rank[c.Code] < last {
				t.Errorf("client-ordered suites not in offer order at %s: %v", c.Name, mod.Ciphers)
				break
			}
			last = rank[c.Code]
		}
	})
	t.Run("SHA-1 signer is invisible to crypto/tls", func(t *testing.T) {
		// Why the fixture matters: Go (tlssha1=0 by default since 1.25)
		// refuses the SHA-1 ServerKeyExchange signature, so a crypto/tls
		// prober would call TLS 1.2 refused; our raw probe above says
		// accepted because it never checks the signature.
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", s.sha1, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12})
		if err == nil {
			_ = c.Close()
			t.Skip("this Go accepts SHA-1 signatures (GODEBUG tlssha1=1?)")
		}
		res := probeOK(t, platform.ProbeRequest{Address: s.sha1, Ciphers: true})
		var names []string
		for _, c := range res.Ciphers {
			names = append(names, c.Name)
		}
		if !slices.Equal(names, []string{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}) {
			t.Errorf("SHA-1 server suites %v", names)
		}
	})
}

// nmapRun is the part of nmap's XML that ssl-enum-ciphers fills.
type nmapRun struct {
	Hosts []struct {
		Ports []struct {
			Scripts []struct {
				ID     string      `xml:"id,attr"`
				Tables []nmapTable `xml:"table"`
			} `xml:"script"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

type nmapTable struct {
	Key    string      `xml:"key,attr"`
	Tables []nmapTable `xml:"table"`
	Elems  []struct {
		Key   string `xml:"key,attr"`
		Value string `xml:",chardata"`
	} `xml:"elem"`
}

// nmapCiphers runs nmap's ssl-enum-ciphers (no DNS: -n; connect scan:
// -sT) and returns protocol -> accepted suite names, in IANA spelling.
func nmapCiphers(t testing.TB, addr string) map[string][]string {
	t.Helper()
	nmap := platformtest.RequireTool(t, "nmap")
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, nmap, "-n", "-Pn", "-sT", "-p", port, "--script", "ssl-enum-ciphers", "-oX", "-", host).Output()
	if err != nil {
		t.Fatalf("nmap: %v", err)
	}
	var run nmapRun
	if err := xml.Unmarshal(out, &run); err != nil {
		t.Fatalf("nmap XML: %v", err)
	}
	got := map[string][]string{}
	for _, h := range run.Hosts {
		for _, p := range h.Ports {
			for _, sc := range p.Scripts {
				if sc.ID != "ssl-enum-ciphers" {
					continue
				}
				for _, proto := range sc.Tables {
					for _, sub := range proto.Tables {
						if sub.Key != "ciphers" {
							continue
						}
						for _, c := range sub.Tables {
							for _, e := range c.Elems {
								if e.Key == "name" {
									// nmap 7.93 spells TLS 1.3 suites TLS_AKE_WITH_...
									got[proto.Key] = append(got[proto.Key], strings.Replace(e.Value, "TLS_AKE_WITH_", "TLS_", 1))
								}
							}
						}
					}
				}
			}
		}
	}
	return got
}

// TestNginxCiphersMatchNmap compares our full cipher enumeration with
// nmap's ssl-enum-ciphers against the same servers, per protocol.
func TestNginxCiphersMatchNmap(t *testing.T) {
	platformtest.RequireTool(t, "nmap")
	s := startNginx(t)
	for _, addr := range []string{s.legacy, s.modern} {
		sameAsNmap(t, addr)
	}
}

// sameAsNmap enumerates addr's suites and compares them, per version,
// with nmap's ssl-enum-ciphers.
func sameAsNmap(t *testing.T, addr string) {
	t.Helper()
	want := nmapCiphers(t, addr)
	res := probeOK(t, platform.ProbeRequest{Address: addr, Ciphers: true})
	got := map[string][]string{}
	for _, c := range res.Ciphers {
		got[c.Version.String()] = append(got[c.Version.String()], c.Name)
	}
	// nmap says TLSv1.0 for TLS 1.0.
	if len(want) == 0 {
		t.Fatalf("%s: nmap found no ciphers", addr)
	}
	for proto, names := range want {
		g := slices.Clone(got[proto])
		slices.Sort(g)
		slices.Sort(names)
		if !slices.Equal(g, names) {
			t.Errorf("%s %s:\n ours %v\n nmap %v", addr, proto, g, names)
		}
	}
	for proto := range got {
		if _, ok := want[proto]; !ok {
			t.Errorf("%s: we list %s suites, nmap none", addr, proto)
		}
	}
	n := 0
	for _, v := range want {
		n += len(v)
	}
	t.Logf("%s: %d accepted suite/version pairs, same as nmap", addr, n)
}

// TestNginxSelectsSuiteBeforeALPN checks, on Debian's nginx and OpenSSL,
// the behaviour the DHE check relies on (dhecheck.go): offered a protocol
// it does not speak, nginx refuses a suite it does not accept with
// handshake_failure and answers no_application_protocol for one it
// accepts, without the ServerHello and signature. On the modern server,
// which has no DH parameters, a DHE suite is refused.
func TestNginxSelectsSuiteBeforeALPN(t *testing.T) {
	s := startNginx(t)
	for _, tc := range []struct {
		addr  string
		v     platform.TLSVersion
		suite uint16
		alert byte
	}{
		{s.legacy, platform.VersionTLS12, 0x0033, 120}, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
		{s.legacy, platform.VersionTLS10, 0x0039, 120}, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
		{s.legacy, platform.VersionTLS12, 0xC013, 120}, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
		{s.legacy, platform.VersionTLS12, 0xC02B, 40},  // an ECDSA suite; the key is RSA
		{s.modern, platform.VersionTLS12, 0x009E, 40},  // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
	} {
		tg := &target{addr: tc.addr, timeout: 5 * time.Second, sem: make(chan struct{}, 1), dialer: defaultDialer(net.IPv4(127, 0, 0, 1))}
		o := tg.handshake(context.Background(), hello{version: tc.v, suites: []uint16{tc.suite}, alpnCheck: true}, false)
		if o.accepted || !isAlert(o.err, tc.alert) {
			t.Errorf("%s %s %s with ALPN %q: accepted %v, %v; want alert %s",
				tc.addr, tc.v, SuiteName(tc.suite), checkProtocol, o.accepted, o.err, alertName(tc.alert))
		}
	}
}

// TestVerifyAfterNginxReload: Verify fails on the unchanged legacy server;
// after the server is changed to TLS 1.2/1.3 and the master gets SIGHUP it
// passes, waiting out the old workers that keep answering for a while.
func TestVerifyAfterNginxReload(t *testing.T) {
	s := startNginx(t)
	req := platform.ProbeRequest{Address: s.legacy, Timeout: 5 * time.Second}
	before := probeOK(t, req)
	if !slices.Contains(before.Accepted(), platform.VersionTLS10) {
		t.Fatalf("fixture: TLS 1.0 not accepted before: %v", before.Accepted())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Verify(ctx, New(Options{}), req, before, SettleOptions{Agree: 3, Interval: 50 * time.Millisecond, Timeout: time.Second})
	if !errors.Is(err, ErrVerifyFailed) || !strings.Contains(err.Error(), "TLSv1.0 still accepted") {
		t.Errorf("verify of the unchanged legacy server: %v", err)
	}

	b, err := os.ReadFile(s.conf)
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(b), "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; ssl_ciphers 'DEFAULT:@SECLEVEL=0';", "ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers 'DEFAULT:@SECLEVEL=0';", 1)
	if fixed == string(b) {
		t.Fatal("fixture: legacy directives not found")
	}
	if err := os.WriteFile(s.conf, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.master.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	after, err := Verify(ctx, New(Options{}), req, before, SettleOptions{Agree: 3, Interval: 50 * time.Millisecond, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Accepted(); !slices.Equal(got, []platform.TLSVersion{platform.VersionTLS12, platform.VersionTLS13}) {
		t.Errorf("settled on %v", got)
	}
}
