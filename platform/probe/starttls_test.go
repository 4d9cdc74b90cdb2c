package probe

import (
	"bufio"
	"context"
	"io"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// smtpFront speaks the plain-text part of SMTP (greeting, EHLO, STARTTLS)
// and then splices the connection to a TLS backend, so the TLS answers
// come from a real OpenSSL server. refuse makes it answer STARTTLS with
// 454, as a server without TLS does.
func smtpFront(t *testing.T, backend string, refuse bool) string {
	return fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		_, _ = io.WriteString(c, "220-test.invalid ESMTP\r\n220 hello\r\n")
		l, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(l, "EHLO ") {
			_, _ = io.WriteString(c, "500 want EHLO\r\n")
			return
		}
		_, _ = io.WriteString(c, "250-test.invalid\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
		if l, err = r.ReadString('\n'); err != nil || l != "STARTTLS\r\n" {
			return
		}
		if refuse {
			_, _ = io.WriteString(c, "454 4.7.0 TLS not available\r\n")
			return
		}
		_, _ = io.WriteString(c, "220 2.0.0 Ready to start TLS\r\n")
		b, err := net.DialTimeout("tcp", backend, 5*time.Second)
		if err != nil {
			return
		}
		_ = b.SetDeadline(time.Now().Add(10 * time.Second))
		// Whichever side finishes first ends the splice for both.
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(b, r); done <- struct{}{} }()
		go func() { _, _ = io.Copy(c, b); done <- struct{}{} }()
		<-done
		_ = b.Close()
		_ = c.Close()
		<-done
	})
}

func TestSMTPStartTLS(t *testing.T) {
	backend := startSServer(t, "-cipher", "DEFAULT:@SECLEVEL=0")
	front := smtpFront(t, backend, false)
	res := probeOK(t, platform.ProbeRequest{Address: front, StartTLS: StartTLSSMTP, Ciphers: true, Certificate: true})
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	want := []platform.TLSVersion{platform.VersionTLS10, platform.VersionTLS11, platform.VersionTLS12, platform.VersionTLS13}
	if got := res.Accepted(); !slices.Equal(got, want) {
		t.Errorf("accepted %v, want %v", got, want)
	}
	// openssl s_client -starttls smtp against the same front.
	for v, flag := range versionFlags {
		sc := sClientStartTLS(t, front, flag)
		if got := slices.Contains(res.Accepted(), v); got != sc {
			t.Errorf("%s over STARTTLS: probe %v, s_client %v", v, got, sc)
		}
	}
	if res.Certificate == nil {
		t.Error("no certificate over STARTTLS")
	}
	// Without --starttls the greeting is the answer: a clear "not TLS".
	plain := probeOK(t, platform.ProbeRequest{Address: front, Timeout: time.Second})
	if !strings.Contains(plain.Error, "try --starttls") {
		t.Errorf("plain probe of an SMTP port: %q", plain.Error)
	}
}

func TestSMTPStartTLSRefused(t *testing.T) {
	front := smtpFront(t, "127.0.0.1:1", true)
	res := probeOK(t, platform.ProbeRequest{Address: front, StartTLS: StartTLSSMTP})
	if !strings.Contains(res.Error, "STARTTLS unavailable (smtp)") || !strings.Contains(res.Error, "454") {
		t.Errorf("Error = %q", res.Error)
	}
}

// The IMAP, POP3 and FTP dialogues against scripted servers.
func TestOtherStartTLSDialogues(t *testing.T) {
	tests := []struct {
		proto, greet, want, reply string
	}{
		{StartTLSIMAP, "* OK IMAP4rev1 ready\r\n", "a001 STARTTLS\r\n", "a001 OK begin TLS\r\n"},
		{StartTLSPOP3, "+OK POP3 ready\r\n", "STLS\r\n", "+OK begin TLS\r\n"},
		{StartTLSFTP, "220-welcome\r\n220 ready\r\n", "AUTH TLS\r\n", "234 AUTH TLS OK\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.proto, func(t *testing.T) {
			addr := fakeServer(t, func(c net.Conn) {
				r := bufio.NewReader(c)
				_, _ = io.WriteString(c, tt.greet)
				if l, err := r.ReadString('\n'); err != nil || l != tt.want {
					_, _ = io.WriteString(c, "BAD unexpected\r\n")
					return
				}
				_, _ = io.WriteString(c, tt.reply)
				// Then refuse TLS with an alert: proves we got to the hello.
				if _, err := readClientHello(r); err == nil {
					_, _ = c.Write(record(recAlert, []byte{2, 70}))
				}
			})
			res := probeOK(t, platform.ProbeRequest{Address: addr, StartTLS: tt.proto, Timeout: 2 * time.Second})
			if res.Error != "" {
				t.Fatalf("Error = %q", res.Error)
			}
			for _, v := range res.Versions {
				if v.Version != platform.VersionSSL20 && v.Error != "alert protocol_version" {
					t.Errorf("%s: %q, want alert protocol_version", v.Version, v.Error)
				}
			}
		})
	}
}

// sClientStartTLS is sClientAccepts through SMTP STARTTLS.
func sClientStartTLS(t testing.TB, addr, flag string) bool {
	t.Helper()
	openssl := platformtest.RequireTool(t, "openssl")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, openssl, "s_client", "-starttls", "smtp", "-connect", addr, flag, "-cipher", "DEFAULT:@SECLEVEL=0").CombinedOutput()
	m := regexp.MustCompile(`(?m)^New, (\S+), Cipher is (\S+)`).FindSubmatch(out)
	return m != nil && string(m[2]) != "(NONE)"
}
