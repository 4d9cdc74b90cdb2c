package probe

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// writeCert writes a fresh self-signed certificate for localhost (RSA, or
// ECDSA P-256 when ecdsaKey is set) to dir and returns both paths.
func writeCert(t testing.TB, dir string, ecdsaKey bool) (certPath, keyPath string) {
	t.Helper()
	if ecdsaKey {
		return platformtest.SelfSignedCertECDSA(t, dir)
	}
	return platformtest.SelfSignedCert(t, dir)
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
	openssl := platformtest.RequireTool(t, "openssl")
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
	openssl := platformtest.RequireTool(t, "openssl")
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

// builder writes the messages of fake servers, length-prefixed vectors
// included (clienthello has its own for the client's hellos).
type builder struct{ b []byte }

func (w *builder) u8(v byte)      { w.b = append(w.b, v) }
func (w *builder) u16(v uint16)   { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *builder) bytes(p []byte) { w.b = append(w.b, p...) }

// vec writes a vector whose body f appends, after an n-byte length.
func (w *builder) vec(n int, f func()) {
	at := len(w.b)
	w.b = append(w.b, 0, 0, 0)[:at+n]
	f()
	for i, l := n-1, len(w.b)-at-n; i >= 0; i, l = i-1, l>>8 {
		w.b[at+i] = byte(l)
	}
}
