package probe_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/cmd/root"
	"github.com/tlsfloor/tlsfloor/platform"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// sServer starts `openssl s_server` on a kernel-chosen loopback port with
// a certificate made now, and returns its address.
func sServer(t *testing.T, extra ...string) string {
	t.Helper()
	openssl := platformtest.RequireTool(t, "openssl")
	dir := t.TempDir()
	gen := exec.Command(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
		"-keyout", filepath.Join(dir, "key.pem"), "-out", filepath.Join(dir, "cert.pem"))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	args := append([]string{"s_server", "-accept", "127.0.0.1:0", "-cert", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem")}, extra...)
	cmd := exec.Command(openssl, args...)
	stdout, _ := cmd.StdoutPipe()
	stdin, _ := cmd.StdinPipe() // s_server quits at end of input
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = stdin.Close(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`ACCEPT (\S+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("s_server did not start")
	}
	return ""
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &cmdutil.Factory{
		IO: cmdutil.Test(strings.NewReader(""), &out, &errOut), Runner: platform.ExecRunner{},
		Getenv: func(string) string { return "" }, Now: time.Now, Version: "test",
		NewFS: func(r string) platform.FS { return platform.NewOSFS(r) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := root.Execute(ctx, f, args)
	return code, out.String(), errOut.String()
}

// TestProbeCommandRealServers runs `tlsfloor probe` through the CLI root
// against real OpenSSL servers and checks the exit-code contract.
func TestProbeCommandRealServers(t *testing.T) {
	modern := sServer(t, "-tls1_2")
	legacy := sServer(t, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0")

	if code, out, errOut := run(t, "probe", modern); code != cmdutil.ExitOK || !strings.Contains(out, "TLSv1.2  accepted") {
		t.Errorf("modern: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ := run(t, "probe", "--format", "json", "--ciphers", legacy)
	if code != cmdutil.ExitNonCompliant {
		t.Errorf("legacy: exit %d, want 3", code)
	}
	var doc struct {
		Targets []struct {
			Versions []struct {
				Protocol string `json:"protocol"`
				Accepted bool   `json:"accepted"`
			} `json:"versions"`
			Ciphers []struct {
				Protocol string `json:"protocol"`
				Name     string `json:"name"`
			} `json:"ciphers"`
		} `json:"targets"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Targets) != 1 {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	for _, v := range doc.Targets[0].Versions {
		if v.Accepted != (v.Protocol == "TLSv1.0") {
			t.Errorf("%s accepted=%v against an s_server -tls1", v.Protocol, v.Accepted)
		}
	}
	if len(doc.Targets[0].Ciphers) == 0 {
		t.Error("no ciphers listed")
	}
	// --min-version 1.3 makes the TLS 1.2-only server non-compliant.
	if code, _, _ := run(t, "probe", "--min-version", "1.3", modern); code != cmdutil.ExitNonCompliant {
		t.Errorf("modern with --min-version 1.3: exit %d, want 3", code)
	}
	// A closed port cannot be probed: exit 2, and the reason on stderr.
	if code, _, errOut := run(t, "probe", "--timeout", "2s", "127.0.0.1:1"); code != cmdutil.ExitUsage || !strings.Contains(errOut, "could not be probed") {
		t.Errorf("closed port: exit %d, stderr %q", code, errOut)
	}
}
