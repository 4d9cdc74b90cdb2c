package early

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/cmd/probe"
	"github.com/tlsfloor/tlsfloor/platform"
	tlsprobe "github.com/tlsfloor/tlsfloor/platform/probe"
	"github.com/tlsfloor/tlsfloor/platform/probe/clienthello"
)

var planTests = []struct {
	args string // space-separated
	want string // "" for no early start
}{
	{"probe 127.0.0.1:8443", "127.0.0.1:8443"},
	{"probe 127.0.0.1", "127.0.0.1:443"},
	{"probe 127.1.2.3:443", "127.1.2.3:443"},
	{"probe [::1]:8443", "[::1]:8443"},
	{"probe [::1]", "[::1]:443"},
	{"probe ::1", "[::1]:443"},
	{"probe --ciphers 127.0.0.1:8443", "127.0.0.1:8443"},
	{"probe 127.0.0.1:8443 --ciphers --format json", "127.0.0.1:8443"},
	{"probe --format=text 127.0.0.1:465", "127.0.0.1:465"},
	{"probe --format json --ciphers 127.0.0.1:993", "127.0.0.1:993"},

	{"probe", ""},
	{"probe --ciphers", ""},
	{"version 127.0.0.1:443", ""},
	{"audit 127.0.0.1:443", ""},
	{"--format json probe 127.0.0.1:443", ""},
	{"probe 127.0.0.1:443 127.0.0.2:443", ""}, // several targets: the concurrency limit decides
	{"probe 127.0.0.1:25", ""},                // STARTTLS ports
	{"probe 127.0.0.1:587", ""},
	{"probe 127.0.0.1:21", ""},
	{"probe 127.0.0.1:110", ""},
	{"probe 127.0.0.1:143", ""},
	{"probe 192.0.2.1:443", ""},  // not loopback
	{"probe localhost:443", ""},  // a name: resolving is the command's job
	{"probe 127.0.0.1:0443", ""}, // not canonical
	{"probe 127.000.0.1:443", ""},
	{"probe 127.0.0.1:0", ""},
	{"probe 127.0.0.1:65536", ""},
	{"probe 127.0.0.1:https", ""},
	{"probe 127.0.0.1:", ""},
	{"probe [::1]:", ""},
	{"probe [0:0:0:0:0:0:0:1]:443", ""},
	{"probe [::ffff:127.0.0.1]:443", ""},
	{"probe --format yaml 127.0.0.1:443", ""}, // the command refuses it
	{"probe --format 127.0.0.1:443", ""},
	{"probe --sni example.com 127.0.0.1:443", ""}, // every other flag
	{"probe --starttls smtp 127.0.0.1:8025", ""},
	{"probe --timeout 1s 127.0.0.1:443", ""},
	{"probe --min-version 1.3 127.0.0.1:443", ""},
	{"probe --targets-file x 127.0.0.1:443", ""},
	{"probe -h 127.0.0.1:443", ""},
	{"probe --help 127.0.0.1:443", ""},
	{"probe -- 127.0.0.1:443", ""},
	{"probe --ciphers=true 127.0.0.1:443", ""},
}

func TestPlan(t *testing.T) {
	for _, tt := range planTests {
		got, ok := Plan(strings.Fields(tt.args))
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("Plan(%q) = %q, %v; want %q", tt.args, got, ok, tt.want)
		}
	}
	if _, ok := Plan([]string{"probe", ""}); ok {
		t.Error("an empty argument qualified")
	}
}

// probeCommand parses args with the probe command itself and returns the
// options it would run with, or its error.
func probeCommand(args []string) (*probe.Options, error) {
	var out bytes.Buffer
	f := &cmdutil.Factory{IO: cmdutil.Test(nil, &out, &out)}
	var got *probe.Options
	cmd := probe.NewCmdProbe(f, func(_ context.Context, o *probe.Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	if err := cmd.Execute(); err != nil {
		return nil, err
	}
	if got == nil {
		return nil, errors.New("the command did not run")
	}
	return got, nil
}

// agrees checks that the probe command runs args (Plan accepted them) as
// one versions check of address, without STARTTLS or SNI, with the
// default timeout: the hellos early sent are the ones it will send.
func agrees(t *testing.T, args []string, address string) {
	t.Helper()
	o, err := probeCommand(args[1:])
	if err != nil {
		t.Fatalf("%q: early starts %s, the command refuses: %v", args, address, err)
	}
	if len(o.Targets) != 1 {
		t.Fatalf("%q: %d targets", args, len(o.Targets))
	}
	tg := o.Targets[0]
	host, port, err := net.SplitHostPort(tg.Address())
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if err != nil || ip == nil {
		t.Fatalf("%q: target address %q", args, tg.Address())
	}
	// The prober dials the address in this form (platform/probe).
	if got := net.JoinHostPort(ip.String(), port); got != address {
		t.Errorf("%q: the prober dials %s, early started %s", args, got, address)
	}
	if tg.StartTLS != "" || tg.ServerName != "" || o.Timeout != tlsprobe.DefaultTimeout {
		t.Errorf("%q: STARTTLS %q, SNI %q, timeout %v: not the hellos early sends", args, tg.StartTLS, tg.ServerName, o.Timeout)
	}
}

// TestAgreesWithTheProbeCommand: every command line Plan accepts is one
// the probe command runs with exactly the hellos Plan's caller sends.
func TestAgreesWithTheProbeCommand(t *testing.T) {
	for _, tt := range planTests {
		args := strings.Fields(tt.args)
		if address, ok := Plan(args); ok {
			agrees(t, args, address)
		}
	}
	// Every port: the STARTTLS list matches the prober's.
	for port := 1; port <= 65535; port++ {
		p := strconv.Itoa(port)
		_, ok := Plan([]string{"probe", "127.0.0.1:" + p})
		if want := tlsprobe.StartTLSForPort(p) == ""; ok != want {
			t.Errorf("port %s: early %v, StartTLSForPort %q", p, ok, tlsprobe.StartTLSForPort(p))
		}
	}
	// The hellos are the versions check's first ones, one per version.
	var want, got []string
	for _, v := range platform.ProbeVersions() {
		want = append(want, clienthello.VersionCheck(uint16(v), "").Key())
	}
	for _, h := range Hellos() {
		got = append(got, h.Key())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Error("Hellos are not the versions check's first hellos")
	}
}

// FuzzPlan: whatever command line Plan accepts, the probe command accepts
// and runs as the same versions check.
func FuzzPlan(f *testing.F) {
	for _, tt := range planTests {
		f.Add(strings.ReplaceAll(tt.args, " ", "\x00"))
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		if address, ok := Plan(args); ok {
			agrees(t, args, address)
		}
	})
}

// TestLightDependencies: the package must not import what Go initialises
// late. Go initialises packages in import-path order as soon as their
// imports are; unicode and reflect (brought by strings, encoding/binary)
// become ready together with the crypto packages, which sort before
// github.com and so would all go first, as would net, crypto/x509 or any
// module.
func TestLightDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "unicode", dep == "reflect", dep == "strings", dep == "net", strings.HasPrefix(dep, "crypto/"),
			strings.Contains(dep, ".") && !strings.HasPrefix(dep, "github.com/tlsfloor/tlsfloor/"):
			t.Errorf("early depends on %s", dep)
		}
	}
}

// buildTlsfloor builds the command once per test binary.
var buildTlsfloor = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tlsfloor-early-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tlsfloor")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/tlsfloor/tlsfloor/cmd/tlsfloor")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

func tlsfloor(t *testing.T) string {
	t.Helper()
	bin, err := buildTlsfloor()
	if err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := buildTlsfloor(); err == nil {
		_ = os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// TestInitOrder: in the real binary the package is initialised before
// nginx-go-crossplane, net and cobra, whose initialisation it overlaps.
func TestInitOrder(t *testing.T) {
	cmd := exec.Command(tlsfloor(t), "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tlsfloor version: %v\n%s", err, stderr.String())
	}
	pos := map[string]int{}
	for i, l := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "init" {
			pos[f[1]] = i + 1
		}
	}
	self := pos["github.com/tlsfloor/tlsfloor/cmd/probe/early"]
	if self == 0 {
		t.Fatalf("no init line for the package in\n%s", stderr.String())
	}
	for _, later := range []string{"github.com/nginxinc/nginx-go-crossplane", "net", "crypto/x509", "github.com/spf13/cobra"} {
		if p := pos[later]; p == 0 || p < self {
			t.Errorf("%s initialised at %d, early at %d", later, p, self)
		}
	}
}

// tlsFake answers every ClientHello like an old server: TLS 1.0-1.2
// hellos get a ServerHello with the first offered suite, TLS 1.3 and
// SSLv3 a protocol_version alert, SSLv2 a close. It counts connections.
func tlsFake(t *testing.T) (string, *atomic.Int32) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Write(fakeAnswer(c))
			})
		}
	})
	return ln.Addr().String(), &conns
}

func fakeAnswer(r io.Reader) []byte {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 22 {
		return nil
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(r, body); err != nil || len(body) < 4+2+32+1 {
		return nil
	}
	alert := []byte{21, 3, 1, 0, 2, 2, 70}
	version := uint16(body[4])<<8 | uint16(body[5])
	p := 4 + 2 + 32
	p += 1 + int(body[p])
	if p+2 > len(body) || version < 0x0301 || bytes.Contains(body, []byte{0, 43}) {
		return alert // SSLv3, or supported_versions: TLS 1.3
	}
	suite := body[p+2 : p+4]
	sh := []byte{2, 0, 0, 38, byte(version >> 8), byte(version)}
	sh = append(sh, make([]byte, 32)...)
	sh = append(sh, 0, suite[0], suite[1], 0)
	return append([]byte{22, byte(version >> 8), byte(version), 0, byte(len(sh))}, sh...)
}

type jsonResult struct {
	Targets []struct {
		Versions []struct {
			Protocol string `json:"protocol"`
			Accepted bool   `json:"accepted"`
			Cipher   string `json:"cipher"`
			Error    string `json:"error"`
		} `json:"versions"`
	} `json:"targets"`
}

// TestEarlyStartEndToEnd runs the binary against a counting server: the
// command line that starts early and one that does not (--timeout 5s, the
// default) must give the same answers over the same six connections, so
// nothing early sent was wasted; command lines the probe command refuses
// must make no connection at all.
func TestEarlyStartEndToEnd(t *testing.T) {
	bin := tlsfloor(t)
	run := func(args ...string) (jsonResult, int32, error) {
		addr, conns := tlsFake(t)
		args = append(args, addr)
		out, err := exec.Command(bin, args...).Output()
		var res jsonResult
		if err == nil || errors.As(err, new(*exec.ExitError)) {
			if jerr := json.Unmarshal(out, &res); jerr != nil && err == nil {
				err = jerr
			}
		}
		time.Sleep(50 * time.Millisecond) // let late connections show
		return res, conns.Load(), err
	}
	early, n1, err1 := run("probe", "--format", "json")
	late, n2, err2 := run("probe", "--format", "json", "--timeout", "5s")
	var ee *exec.ExitError
	if !errors.As(err1, &ee) || ee.ExitCode() != 3 || !errors.As(err2, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit: %v and %v, want 3 (TLS 1.0 and 1.1 accepted)", err1, err2)
	}
	if n1 != 6 || n2 != 6 {
		t.Errorf("%d and %d connections, want 6 each", n1, n2)
	}
	if len(early.Targets) != 1 || len(early.Targets[0].Versions) != 6 {
		t.Fatalf("result %+v", early)
	}
	if !slices.Equal(early.Targets[0].Versions, late.Targets[0].Versions) {
		t.Errorf("with the early start %+v, without %+v", early.Targets[0].Versions, late.Targets[0].Versions)
	}
	if v := early.Targets[0].Versions[4]; v.Protocol != "TLSv1.2" || !v.Accepted || v.Cipher != tlsprobe.SuiteName(clienthello.VersionCheck(clienthello.TLS12, "").Suites[0]) {
		t.Errorf("TLS 1.2: %+v", v)
	}
	for _, bad := range [][]string{{"probe", "--format", "yaml"}, {"probe", "--bogus"}} {
		_, n, err := run(bad...)
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || n != 0 {
			t.Errorf("%q: %v, %d connections; want exit 2 and none", bad, err, n)
		}
	}
}
