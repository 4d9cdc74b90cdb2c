package platformtest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

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
