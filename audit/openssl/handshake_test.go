package openssl

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// TestEffectiveMatchesHandshakes checks the configured-versus-effective
// model against the real library: for each system_default section it
// starts `openssl s_server` (which sets no protocols of its own, so the
// system default applies) on 127.0.0.1 with that file as OPENSSL_CONF, and
// tries every protocol with a level-0 `openssl s_client`. The protocols that
// handshake must be exactly Evaluate's effective set.
func TestEffectiveMatchesHandshakes(t *testing.T) {
	bin := platformtest.RequireTool(t, "openssl")
	env := &audit.Env{FS: platform.NewOSFS(""), Runner: platform.ExecRunner{Timeout: 20 * time.Second}, Getenv: noEnv}
	cli, ok := FindCLI(context.Background(), env)
	if !ok || !cli.Lib.Version.Known() {
		t.Fatalf("cannot read the local openssl: %+v", cli)
	}
	dir := t.TempDir()
	cert, key := platformtest.SelfSignedCert(t, dir)
	clientConf := filepath.Join(dir, "client.cnf")
	writeFile(t, clientConf, "# the client must not be limited by the server's policy\n")

	head := "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sd\n[sd]\n"
	cases := map[string]string{
		"min-tlsv1":           head + "MinProtocol = TLSv1\n",
		"min-tlsv1-seclevel0": head + "MinProtocol = TLSv1\nCipherString = DEFAULT:@SECLEVEL=0\n",
		"min-tlsv12-level0":   head + "MinProtocol = TLSv1.2\nCipherString = DEFAULT:@SECLEVEL=0\n",
		"seclevel0-only":      head + "CipherString = DEFAULT:@SECLEVEL=0\n",
		"max-tlsv12-level0":   head + "MinProtocol = None\nMaxProtocol = TLSv1.2\nCipherString = DEFAULT:@SECLEVEL=0\n",
		"protocol-cmd-level0": head + "Protocol = ALL, -TLSv1\nCipherString = DEFAULT:@SECLEVEL=0\n",
		"no-system-default":   "openssl_conf = init\n[init]\n",
	}
	// Both answers for TLS 1.0 must turn up, or the probe itself is broken
	// (a client that can never do TLS 1.0 would agree with any "refused").
	seen := map[bool]bool{}
	for name, conf := range cases {
		t.Run(name, func(t *testing.T) {
			cdir := t.TempDir()
			writeFile(t, filepath.Join(cdir, "server.cnf"), conf)
			sp, err := ReadSystemPolicy(platform.NewOSFS(cdir), "/server.cnf")
			if err != nil {
				t.Fatal(err)
			}
			comp, _ := sp.Evaluate(Host{Lib: cli.Lib.Version, DefaultSecLevel: cli.Level}, audit.TLS12)
			effective := comp.Contexts[len(comp.Contexts)-1]
			if effective.Kind != "effective" {
				t.Fatalf("last context is %+v, want the effective one", effective)
			}
			port := startServer(t, bin, filepath.Join(cdir, "server.cnf"), cert, key)
			var got audit.ProtocolSet
			for _, p := range []audit.Protocol{audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13} {
				if handshake(t, bin, clientConf, port, p) {
					got = got.With(p)
				}
			}
			seen[got.Has(audit.TLS10)] = true
			if !got.Has(audit.TLS12) {
				t.Fatalf("TLS 1.2 did not handshake: the test server is broken")
			}
			if got != effective.Protocols {
				t.Errorf("%s: real handshakes %s, Evaluate's effective set %s (%s)", cli.Lib.Version, got, effective.Protocols, effective.Note)
			}
		})
	}
	if !seen[true] || !seen[false] {
		t.Errorf("TLS 1.0 outcomes seen: %v; want both refused and accepted cases", seen)
	}
}

var reAccept = regexp.MustCompile(`^ACCEPT .*:(\d+)$`)

// startServer runs s_server on 127.0.0.1 with a port the kernel picks, and
// stops it when the test ends.
func startServer(t *testing.T, bin, conf, cert, key string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key, "-www")
	cmd.Env = []string{"OPENSSL_CONF=" + conf}
	cmd.WaitDelay = 2 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := reAccept.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil {
				port <- m[1]
			}
		}
	}()
	select {
	case p := <-port:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("s_server did not report its port")
		return ""
	}
}

// handshake reports whether a level-0 client completes a handshake with
// exactly protocol p.
func handshake(t *testing.T, bin, conf, port string, p audit.Protocol) bool {
	t.Helper()
	flag := map[audit.Protocol]string{audit.TLS10: "-tls1", audit.TLS11: "-tls1_1", audit.TLS12: "-tls1_2", audit.TLS13: "-tls1_3"}[p]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "s_client", "-connect", "127.0.0.1:"+port, flag, "-cipher", "DEFAULT:@SECLEVEL=0")
	cmd.Env = []string{"OPENSSL_CONF=" + conf}
	out, _ := cmd.CombinedOutput() // a refused handshake exits non-zero; the text decides
	s := string(out)
	if !strings.Contains(s, "Cipher is") {
		t.Fatalf("s_client %s gave no result:\n%s", flag, s)
	}
	return !strings.Contains(s, "Cipher is (NONE)")
}
