package probe

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// needTool returns the path of a real tool the test needs. Without it the
// test skips, except under CI=true, where a missing tool is a failure:
// CI must not go green by skipping the tests that matter.
func needTool(t testing.TB, name string) string {
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

// writeCert writes a fresh self-signed certificate (CN=localhost, valid
// for a day) and its key to dir and returns both paths.
func writeCert(t testing.TB, dir string, ecdsaKey bool) (certPath, keyPath string) {
	t.Helper()
	var pub, priv any
	if ecdsaKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
	} else {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = &k.PublicKey, k
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"tlsfloor test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour).Truncate(time.Second),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

var acceptRE = regexp.MustCompile(`ACCEPT (\S+)`)

// startSServer runs `openssl s_server` on a port the kernel picks, with
// extra arguments, and returns its address. It is killed at cleanup.
func startSServer(t testing.TB, extra ...string) string {
	t.Helper()
	return startSServerKey(t, false, extra...)
}

// startSServerKey is startSServer with an ECDSA P-256 certificate when
// ecdsaKey is set.
func startSServerKey(t testing.TB, ecdsaKey bool, extra ...string) string {
	t.Helper()
	openssl := needTool(t, "openssl")
	dir := t.TempDir()
	cert, key := writeCert(t, dir, ecdsaKey)
	args := append([]string{"s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key}, extra...)
	cmd := exec.Command(openssl, args...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	// s_server quits on end of input even with -ign_eof, and -quiet hides
	// the ACCEPT line: keep stdin open until cleanup instead.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := acceptRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(10 * time.Second):
		t.Fatalf("openssl %s: no ACCEPT line", strings.Join(args, " "))
	}
	return ""
}

// sClientAccepts asks `openssl s_client` whether addr accepts one version
// (flag -tls1, -tls1_1, ...), at security level 0 so OpenSSL 3 itself does
// not refuse TLS 1.0/1.1 on the client side.
func sClientAccepts(t testing.TB, addr, flag string) (bool, string) {
	t.Helper()
	openssl := needTool(t, "openssl")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, flag, "-cipher", "DEFAULT:@SECLEVEL=0")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	// "New, TLSv1.3, Cipher is X" is printed for every version (TLS 1.3
	// sessions print no SSL-Session block when s_client quits at once);
	// a failed handshake prints "New, (NONE), Cipher is (NONE)".
	m := regexp.MustCompile(`(?m)^New, (\S+), Cipher is (\S+)`).FindSubmatch(out)
	if err != nil || m == nil || string(m[2]) == "(NONE)" {
		return false, ""
	}
	return true, string(m[2])
}

func mustDER(t testing.TB, certPath string) []byte {
	t.Helper()
	b, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	return blk.Bytes
}
