package platformtest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SelfSignedCert makes a self-signed RSA certificate for CN=localhost with
// the real openssl (see RequireTool) and writes it to dir/cert.pem and its
// key to dir/key.pem, whose paths it returns.
func SelfSignedCert(tb testing.TB, dir string) (cert, key string) {
	tb.Helper()
	openssl := RequireTool(tb, "openssl")
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if out, err := exec.Command(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=localhost", "-keyout", key, "-out", cert).CombinedOutput(); err != nil {
		tb.Fatalf("openssl req: %v\n%s", err, out)
	}
	return cert, key
}

// Handshake reports whether `openssl s_client` completes a handshake with
// the server on 127.0.0.1:port (SNI localhost) with the given protocol
// flag (-tls1, -tls1_1, -tls1_2, -tls1_3); extra arguments follow. The
// client drops to security level 0 so that it offers TLS 1.0/1.1 at all:
// only the server's configuration decides.
func Handshake(tb testing.TB, openssl string, port int, flag string, extra ...string) bool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := []string{"s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", port), "-servername", "localhost", flag}
	if flag != "-tls1_3" {
		args = append(args, "-cipher", "DEFAULT:@SECLEVEL=0")
	}
	cmd := exec.CommandContext(ctx, openssl, append(args, extra...)...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	// A completed handshake exits 0 and prints "New, TLSv1.x, Cipher is
	// ..."; a failed one prints "New, (NONE), Cipher is (NONE)" (its
	// SSL-Session block still names the protocol it tried).
	return err == nil && bytes.Contains(out, []byte("New, TLSv1")) && !bytes.Contains(out, []byte("Cipher is (NONE)"))
}
