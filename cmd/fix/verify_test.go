package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/platform/probe"
	"github.com/tlsfloor/tlsfloor/remediate"
)

func TestProbeTargetsMapsWildcardsToLoopback(t *testing.T) {
	plan := &remediate.Plan{Servers: []remediate.Server{
		{Kind: "nginx", Listeners: []string{"*:443", "[::]:443", "127.0.0.1:8443", "*:443"}},
		{Kind: "apache", Listeners: []string{"_default_:443", "unix:/run/x.sock"}},
	}}
	var got []string
	for _, r := range probeTargets(plan, time.Second) {
		got = append(got, r.Address)
	}
	if strings.Join(got, ",") != "127.0.0.1:443,127.0.0.1:8443,[::1]:443" {
		t.Errorf("targets = %v", got)
	}
}

func TestLiveCheckWithFakeProber(t *testing.T) {
	const addr = "127.0.0.1:443"
	legacy := platformtest.Accepting(addr, platform.VersionTLS10, platform.VersionTLS11, platform.VersionTLS12)
	fixed := platformtest.Accepting(addr, platform.VersionTLS12, platform.VersionTLS13)
	broken := platformtest.Accepting(addr, platform.VersionTLS13)
	fast := probe.SettleOptions{Agree: 2, Interval: time.Millisecond, Timeout: 200 * time.Millisecond}
	req := []platform.ProbeRequest{{Address: addr}, {Address: "127.0.0.1:9"}}

	tests := []struct {
		name    string
		answers []platform.ProbeResult // before, then after the reload
		wantErr string
	}{
		{"reload takes effect after a stale answer", []platform.ProbeResult{legacy, legacy, fixed}, ""},
		{"legacy still accepted", []platform.ProbeResult{legacy, legacy}, "TLSv1.0"},
		{"TLS 1.2 refused where it worked before", []platform.ProbeResult{legacy, broken}, "TLSv1.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &platformtest.Prober{Script: map[string][]platform.ProbeResult{addr: tt.answers}}
			var log bytes.Buffer
			c := newLiveCheck(context.Background(), p, req, &log)
			c.settle = fast
			if !strings.Contains(log.String(), "127.0.0.1:9 does not answer TLS") || len(c.targets) != 1 {
				t.Errorf("a listener that is down before the change must be skipped with a note: %q", log.String())
			}
			err := c.verify(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("verify: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("verify error = %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

// TestLiveCheckNothingToProbe: when no listener answered before the
// change, verify passes but says that nothing was probed live.
func TestLiveCheckNothingToProbe(t *testing.T) {
	var log bytes.Buffer
	c := newLiveCheck(context.Background(), &platformtest.Prober{}, []platform.ProbeRequest{{Address: "127.0.0.1:9"}}, &log)
	if err := c.verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "nothing was probed live") {
		t.Errorf("no note that nothing was verified live:\n%s", log.String())
	}
}

// TestRealNginxFixVerify runs `fix --yes --verify` against a real nginx on
// loopback that accepts TLS 1.0/1.1: the live check must see the reload
// take effect and report what the listener now accepts.
func TestRealNginxFixVerify(t *testing.T) {
	n := startRealNginx(t)
	if !platformtest.Handshake(t, n.openssl, n.port, "-tls1") {
		t.Fatal("TLS 1.0 refused before the fix: the test could not fail")
	}
	var out, errOut bytes.Buffer
	opts := fixOptions(t, n.dir, n.conf, n.bin, &out, &errOut)
	opts.Verify = true
	if err := Run(context.Background(), opts); err != nil {
		t.Fatalf("fix --verify: %v\nstderr:\n%s", err, &errOut)
	}
	want := fmt.Sprintf("verified 127.0.0.1:%d: accepts TLSv1.2 TLSv1.3", n.port)
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, &errOut)
	}
	if platformtest.Handshake(t, n.openssl, n.port, "-tls1") {
		t.Error("TLS 1.0 still accepted after a verified fix")
	}
}

// TestRealNginxVerifyFailsRollsBack: the reload "succeeds" but does nothing
// (a service manager that lies), so the live server keeps accepting TLS 1.0.
// --verify must notice, restore the file, reload again and exit 5.
func TestRealNginxVerifyFailsRollsBack(t *testing.T) {
	n := startRealNginx(t)
	before, err := os.ReadFile(n.conf)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	opts := fixOptions(t, n.dir, n.conf, n.bin, &out, &errOut)
	opts.Verify = true
	services := &platformtest.Services{}
	opts.Factory.Services = services
	opts.verifySettle = probe.SettleOptions{Agree: 2, Interval: 20 * time.Millisecond, Timeout: time.Second}
	err = Run(context.Background(), opts)
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != cmdutil.ExitRolledBack {
		t.Fatalf("err = %v, want exit 5\nstderr:\n%s", err, &errOut)
	}
	if !strings.Contains(err.Error(), "TLSv1.0") {
		t.Errorf("the error does not say what is still accepted: %v", err)
	}
	after, err := os.ReadFile(n.conf)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("config not restored byte for byte (%v)", err)
	}
	if len(services.Calls) < 2 {
		t.Errorf("want a reload and a reload after the restore, got %d calls", len(services.Calls))
	}
}
