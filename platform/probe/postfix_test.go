package probe

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// startPostfix runs Debian's Postfix as a private instance: its own
// main.cf/master.cf, queue and data directories in a temp dir, one smtpd on
// a loopback port chosen now, with no TLS setting beyond the certificate,
// so what it accepts is Postfix's default. The master needs root (it
// hands the queue to the postfix user), so the test skips when not root.
func startPostfix(t *testing.T) string {
	t.Helper()
	platformtest.RequireTool(t, "postfix")
	master := "/usr/lib/postfix/sbin/master"
	if _, err := os.Stat(master); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("postfix master daemon missing: %v", err)
		}
		t.Skipf("postfix master daemon missing: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("a private Postfix instance needs root")
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Skipf("no postfix user: %v", err)
	}
	uid, _ := strconv.Atoi(pf.Uid)
	gid, _ := strconv.Atoi(pf.Gid)
	dir := t.TempDir()
	// smtpd drops to the postfix user: it must be able to walk the tree.
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755)
	}
	cert, key := writeCert(t, dir, false)
	port, _ := strconv.Atoi(freePortString(t))
	conf, queue, data := filepath.Join(dir, "conf"), filepath.Join(dir, "queue"), filepath.Join(dir, "data")
	for _, d := range []string{conf, filepath.Join(queue, "pid"), filepath.Join(queue, "private"), filepath.Join(queue, "public"), data} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{filepath.Join(queue, "private"), filepath.Join(queue, "public"), data} {
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	mainCf := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s
data_directory = %[2]s
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = test.invalid
mydestination =
local_recipient_maps =
smtpd_tls_cert_file = %[3]s
smtpd_tls_key_file = %[4]s
smtpd_tls_security_level = may
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
maillog_file = %[5]s/maillog
maillog_file_prefixes = %[5]s
`, queue, data, cert, key, dir)
	masterCf := fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
anvil     unix  -       -       n       -       1       anvil
postlog   unix-dgram n  -       n       -       1       postlogd
proxymap  unix  -       -       n       -       -       proxymap
rewrite   unix  -       -       n       -       -       trivial-rewrite
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
`, port)
	if err := os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "master.cf"), []byte(masterCf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(master, "-c", conf, "-d")
	out, _ := os.Create(filepath.Join(dir, "master.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
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
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitListening(t, addr, filepath.Join(dir, "maillog"))
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Logf("maillog:\n%s", b)
		}
	})
	return addr
}

// TestPostfixStartTLS: Postfix 3.7's defaults accept TLS 1.0/1.1 and
// anonymous suites (reference/probe.md §4), which no configuration line
// says. The probe must see both, over SMTP STARTTLS, and agree with
// s_client -starttls smtp per version.
func TestPostfixStartTLS(t *testing.T) {
	addr := startPostfix(t)
	res := probeOK(t, platform.ProbeRequest{Address: addr, StartTLS: StartTLSSMTP, Ciphers: true, Certificate: true})
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	for v, flag := range versionFlags {
		want := sClientStartTLS(t, addr, flag)
		if got := slices.Contains(res.Accepted(), v); got != want {
			t.Errorf("%s: probe %v, s_client -starttls smtp %v", v, got, want)
		}
	}
	anon := 0
	for _, c := range res.Ciphers {
		if strings.Contains(c.Name, "_anon_") {
			anon++
			if c.Grade != GradeInsecure || !strings.Contains(c.Reason, "anonymous") {
				t.Errorf("%s graded %s (%s)", c.Name, c.Grade, c.Reason)
			}
		}
	}
	if anon == 0 {
		t.Error("no anonymous suites found; Postfix's default list has them")
	}
	t.Logf("Postfix: %d accepted suite/version pairs, %d anonymous, in %v", len(res.Ciphers), anon, res.Elapsed.Round(time.Millisecond))
}
