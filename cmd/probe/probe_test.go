package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in         string
		host, port string
		err        bool
	}{
		{"127.0.0.1", "127.0.0.1", "443", false},
		{"127.0.0.1:8443", "127.0.0.1", "8443", false},
		{"[::1]:25", "::1", "25", false},
		{"[::1]", "::1", "443", false},
		{"::1", "::1", "443", false},
		{"mail.example.com:587", "mail.example.com", "587", false},
		{"example.com", "example.com", "443", false},
		{"::1:443", "", "", false}, // a valid bare IPv6 address, port 443
		{"[::1]:0", "", "", true},
		{"host:99999", "", "", true},
		{"host:https", "", "", true},
		{"[example.com]:443", "", "", true},
		{"[::1", "", "", true},
		{"exa mple.com", "", "", true},
		{":443", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseTarget(%q) err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && tt.host != "" && (got.Host != tt.host || got.Port != tt.port) {
			t.Errorf("ParseTarget(%q) = %s %s, want %s %s", tt.in, got.Host, got.Port, tt.host, tt.port)
		}
	}
}

func TestNewCmdProbe(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		wantErr string
		check   func(t *testing.T, o *Options)
	}{
		{name: "defaults", args: "127.0.0.1", check: func(t *testing.T, o *Options) {
			tg := o.Targets[0]
			if tg.Port != "443" || tg.StartTLS != "" || tg.ServerName != "" || o.Timeout != 5*time.Second || o.Format != cmdutil.FormatText || o.MinVersion != audit.TLS12 {
				t.Errorf("%+v %+v", tg, o)
			}
		}},
		{name: "ports imply STARTTLS", args: "127.0.0.1:25 127.0.0.1:587 127.0.0.1:21 127.0.0.1:465 127.0.0.1:993 127.0.0.1:995 127.0.0.1:143 127.0.0.1:110", check: func(t *testing.T, o *Options) {
			var got []string
			for _, tg := range o.Targets {
				got = append(got, tg.StartTLS)
			}
			if d := cmp.Diff([]string{"smtp", "smtp", "ftp", "", "", "", "imap", "pop3"}, got); d != "" {
				t.Error(d)
			}
		}},
		{name: "explicit starttls wins", args: "--starttls imap 127.0.0.1:25", check: func(t *testing.T, o *Options) {
			if o.Targets[0].StartTLS != "imap" {
				t.Error(o.Targets[0].StartTLS)
			}
		}},
		{name: "name gives SNI, IP does not", args: "www.example.test [::1]:443", check: func(t *testing.T, o *Options) {
			if o.Targets[0].ServerName != "www.example.test" || o.Targets[1].ServerName != "" {
				t.Errorf("%+v", o.Targets)
			}
		}},
		{name: "--sni for an IP target", args: "--sni vhost.example.test 127.0.0.1", check: func(t *testing.T, o *Options) {
			if o.Targets[0].ServerName != "vhost.example.test" {
				t.Error(o.Targets[0].ServerName)
			}
		}},
		{name: "IP as --sni refused", args: "--sni 127.0.0.1 127.0.0.1", wantErr: "RFC 6066"},
		{name: "bad starttls", args: "--starttls xmpp 127.0.0.1", wantErr: "invalid --starttls"},
		{name: "bad format", args: "--format xml 127.0.0.1", wantErr: "invalid --format"},
		{name: "bad min", args: "--min-version 1.1 127.0.0.1", wantErr: "invalid --min-version"},
		{name: "bad concurrency", args: "--concurrency 0 127.0.0.1", wantErr: "invalid --concurrency"},
		{name: "bad target", args: "127.0.0.1:0", wantErr: "invalid port"},
		{name: "no target", args: "", wantErr: "probe needs a TARGET or --targets-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &cmdutil.Factory{IO: cmdutil.Test(nil, &out, &out)}
			var got *Options
			cmd := NewCmdProbe(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

// The probe command runs on one processor (see oneProcessor) when it will
// open many connections, unless the GOMAXPROCS environment variable sets
// the number.
func TestProbeOneProcessor(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	t.Setenv("GOMAXPROCS", "") // whatever it was is restored after the test
	for _, tt := range []struct {
		args string
		env  string // "" unset
		want int
	}{
		{"--ciphers 127.0.0.1", "", 1},
		{"127.0.0.1 127.0.0.2", "", 1},
		{"127.0.0.1", "", 3},            // one versions check: not worth the switch
		{"--ciphers 127.0.0.1", "3", 3}, // the environment decides
	} {
		runtime.GOMAXPROCS(3)
		if tt.env == "" {
			os.Unsetenv("GOMAXPROCS")
		} else {
			os.Setenv("GOMAXPROCS", tt.env)
		}
		var out bytes.Buffer
		f := &cmdutil.Factory{IO: cmdutil.Test(nil, &out, &out)}
		got := 0
		cmd := NewCmdProbe(f, func(context.Context, *Options) error { got = runtime.GOMAXPROCS(0); return nil })
		cmd.SetArgs(strings.Fields(tt.args))
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("probe %s with GOMAXPROCS=%q: ran with GOMAXPROCS %d, want %d", tt.args, tt.env, got, tt.want)
		}
	}
}

// TestTargetsFile: --targets-file adds a target per line after the
// arguments, skips blanks and comments, reads stdin for "-", and names
// FILE:LINE for a bad line (exit 2).
func TestTargetsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("hosts.txt", "# web\nwww.example.test\n\n  [::1]:8443   # lab\nmail.example.test:587\r\n")
	bad := write("bad.txt", "www.example.test\n\nhost:99999\n")
	two := write("two.txt", "a.example.test b.example.test\n")
	empty := write("empty.txt", "# nothing yet\n\n")
	run := func(stdin string, args ...string) (*Options, error) {
		var out bytes.Buffer
		f := &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(stdin), &out, &out)}
		var got *Options
		cmd := NewCmdProbe(f, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		return got, cmd.Execute()
	}
	o, err := run("", "127.0.0.1", "--targets-file", good)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range o.Targets {
		got = append(got, tg.Address()+"/"+tg.StartTLS+"/"+tg.ServerName)
	}
	want := []string{"127.0.0.1:443//", "www.example.test:443//www.example.test", "[::1]:8443//", "mail.example.test:587/smtp/mail.example.test"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("targets (-want +got):\n%s", d)
	}
	if o, err := run("127.0.0.2:993\n", "--targets-file", "-"); err != nil || len(o.Targets) != 1 || o.Targets[0].Port != "993" {
		t.Errorf("stdin: %v %+v", err, o)
	}
	for _, tt := range []struct{ file, want string }{
		{bad, bad + ":3: "},
		{two, two + ":1: one target per line"},
		{empty, empty + ": no targets"},
		{filepath.Join(dir, "missing.txt"), "no such file"},
	} {
		_, err := run("", "--targets-file", tt.file)
		if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%s: err = %v (exit %d), want exit 2 with %q", filepath.Base(tt.file), err, exitCode(err), tt.want)
		}
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *cmdutil.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

func TestRunExitCodesAndJSON(t *testing.T) {
	const good, legacy, only13, dead = "127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003", "127.0.0.1:1004"
	fp := &platformtest.Prober{Script: map[string][]platform.ProbeResult{
		good:   {platformtest.Accepting(good, platform.VersionTLS12, platform.VersionTLS13)},
		legacy: {platformtest.Accepting(legacy, platform.VersionTLS10, platform.VersionTLS12)},
		only13: {platformtest.Accepting(only13, platform.VersionTLS13)},
	}}
	tests := []struct {
		targets []string
		min     audit.Protocol
		code    int
	}{
		{[]string{good}, audit.TLS12, 0},
		{[]string{only13}, audit.TLS12, 0},
		{[]string{legacy}, audit.TLS12, 3},
		{[]string{good}, audit.TLS13, 3}, // TLS 1.2 is below a 1.3 floor
		{[]string{only13}, audit.TLS13, 0},
		{[]string{dead}, audit.TLS12, 2},
		{[]string{good, legacy}, audit.TLS12, 3},
		{[]string{legacy, dead}, audit.TLS12, 2},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		opts := &Options{
			// The prober comes from the Factory, as fix --verify's will.
			Factory: &cmdutil.Factory{IO: cmdutil.Test(nil, &out, &out), LiveProber: fp},
			Format:  cmdutil.FormatJSON, Concurrency: 2, MinVersion: tt.min, Timeout: time.Second,
		}
		for _, a := range tt.targets {
			tg, err := ParseTarget(a)
			if err != nil {
				t.Fatal(err)
			}
			opts.Targets = append(opts.Targets, tg)
		}
		err := Run(context.Background(), opts)
		if got := exitCode(err); got != tt.code {
			t.Errorf("%v min %s: exit %d, want %d (%v)", tt.targets, tt.min, got, tt.code, err)
		}
		var doc struct {
			SchemaVersion int `json:"schema_version"`
			Targets       []struct {
				Target    string `json:"target"`
				Address   string `json:"address"`
				StartTLS  string `json:"starttls"`
				Compliant bool   `json:"compliant"`
				Versions  []struct {
					Protocol string `json:"protocol"`
					Accepted bool   `json:"accepted"`
					Cipher   string `json:"cipher"`
					Error    string `json:"error"`
				} `json:"versions"`
				Ciphers     []map[string]string `json:"ciphers"`
				Certificate *struct{}           `json:"certificate"`
				ElapsedMS   *int64              `json:"elapsed_ms"`
			} `json:"targets"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("bad JSON: %v\n%s", err, out.String())
		}
		if doc.SchemaVersion != 1 || len(doc.Targets) != len(tt.targets) {
			t.Fatalf("schema %d, %d targets", doc.SchemaVersion, len(doc.Targets))
		}
		for i, jt := range doc.Targets {
			if jt.Target != tt.targets[i] || jt.ElapsedMS == nil || jt.Ciphers == nil {
				t.Errorf("target %d: %+v", i, jt)
			}
			if jt.Target == legacy {
				if len(jt.Versions) != 6 || jt.Versions[2].Protocol != "TLSv1.0" || !jt.Versions[2].Accepted || jt.Versions[0].Protocol != "SSLv2" {
					t.Errorf("legacy versions %+v", jt.Versions)
				}
			}
		}
	}
}

func TestWriteText(t *testing.T) {
	tg, _ := ParseTarget("127.0.0.1:25")
	tg.StartTLS = "smtp"
	res := platformtest.Accepting("127.0.0.1:25", platform.VersionTLS11, platform.VersionTLS12)
	res.Ciphers = []platform.CipherResult{{Version: platform.VersionTLS12, Name: "TLS_DH_anon_WITH_AES_128_CBC_SHA", Grade: "insecure", Reason: "anonymous key exchange"}}
	res.Elapsed = 12 * time.Millisecond
	good := platformtest.Accepting("127.0.0.1:443", platform.VersionTLS12, platform.VersionTLS13)
	good.Elapsed = 4 * time.Millisecond
	tgGood, _ := ParseTarget("127.0.0.1:443")
	var b bytes.Buffer
	if err := WriteText(&b, []Outcome{Judge(tg, res, audit.TLS12), Judge(tgGood, good, audit.TLS12)}, audit.TLS12); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"STARTTLS smtp", "TLSv1.1  ACCEPTED", "SSLv3    refused", "TLS_DH_anon_WITH_AES_128_CBC_SHA  insecure: anonymous key exchange",
		"FAIL: accepts TLSv1.1 (policy: TLSv1.2 or newer); probed in 12 ms\n", "OK: meets the policy (TLSv1.2 or newer); probed in 4 ms\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRunEveryAddress: a name is probed on every address it resolves to,
// with its SNI; an IPv6 listener that still accepts TLS 1.0 fails the
// run although IPv4 is fine. A name that does not resolve is exit 2, and
// an IP target is never looked up.
func TestRunEveryAddress(t *testing.T) {
	const v4, v6 = "127.0.0.1:443", "[::1]:443"
	fp := &platformtest.Prober{Script: map[string][]platform.ProbeResult{
		v4: {platformtest.Accepting(v4, platform.VersionTLS12, platform.VersionTLS13)},
		v6: {platformtest.Accepting(v6, platform.VersionTLS10, platform.VersionTLS12)},
	}}
	var lookups []string
	resolve := func(_ context.Context, host string) ([]net.IP, error) {
		lookups = append(lookups, host)
		if host == "dual.example.test" {
			return []net.IP{net.ParseIP("::1"), net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, nil
		}
		return nil, errors.New("no such host")
	}
	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		opts := &Options{Factory: &cmdutil.Factory{IO: cmdutil.Test(nil, &out, &out), LiveProber: fp},
			Format: cmdutil.FormatText, Concurrency: 1, MinVersion: audit.TLS12, Timeout: time.Second, Resolve: resolve}
		for _, a := range args {
			tg, err := ParseTarget(a)
			if err != nil {
				t.Fatal(err)
			}
			tg.ServerName = tg.Host
			if net.ParseIP(tg.Host) != nil {
				tg.ServerName = ""
			}
			opts.Targets = append(opts.Targets, tg)
		}
		err := Run(context.Background(), opts)
		return exitCode(err), out.String()
	}

	code, out := run("dual.example.test")
	if code != cmdutil.ExitNonCompliant {
		t.Errorf("exit %d, want 3 (IPv6 accepts TLS 1.0):\n%s", code, out)
	}
	i4, i6 := strings.Index(out, "dual.example.test (127.0.0.1:443)"), strings.Index(out, "dual.example.test ([::1]:443)")
	if i4 < 0 || i6 < i4 || strings.Count(out, "([::1]:443)") != 1 {
		t.Errorf("want one section per address, IPv4 first:\n%s", out)
	}
	var sni []string
	for _, r := range fp.Requests {
		sni = append(sni, r.Address+" "+r.ServerName)
	}
	slices.Sort(sni) // probed concurrently
	if d := cmp.Diff([]string{"127.0.0.1:443 dual.example.test", "[::1]:443 dual.example.test"}, sni); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}

	lookups = nil
	if code, out := run("nowhere.example.test", "127.0.0.1"); code != cmdutil.ExitUsage || !strings.Contains(out, "resolve nowhere.example.test: no such host") {
		t.Errorf("unresolvable: exit %d, want 2:\n%s", code, out)
	}
	if d := cmp.Diff([]string{"nowhere.example.test"}, lookups); d != "" {
		t.Errorf("lookups (-want +got):\n%s", d)
	}
}
