package schannel

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// windows returns a fake registry that looks like a fresh 64-bit install of
// the given build.
func windows(t *testing.T, build int, product, install string) *platformtest.Registry {
	t.Helper()
	reg := platformtest.NewRegistry()
	reg.SetString(platform.LocalMachine, platform.View64, CurrentVersionKey, "CurrentBuildNumber", strconv.Itoa(build))
	reg.SetString(platform.LocalMachine, platform.View64, CurrentVersionKey, "ProductName", product)
	reg.SetString(platform.LocalMachine, platform.View64, CurrentVersionKey, "InstallationType", install)
	if _, err := reg.CreateKey(platform.LocalMachine, platform.View64, `SOFTWARE\Wow6432Node\Microsoft`); err != nil {
		t.Fatal(err)
	}
	reg.Writes = 0
	return reg
}

func set(t *testing.T, reg platform.Registry, root platform.Root, view platform.View, key, name string, v uint32) {
	t.Helper()
	if err := reg.SetDWORD(root, view, key, name, v); err != nil {
		t.Fatal(err)
	}
}

func evaluate(t *testing.T, reg platform.Registry) audit.Result {
	t.Helper()
	res, err := Evaluate(reg, audit.DefaultPolicy())
	if err != nil {
		t.Fatalf("Evaluate: %v", err)
	}
	return res
}

func component(t *testing.T, res audit.Result, kind audit.ComponentKind) audit.Component {
	t.Helper()
	for _, c := range res.Components {
		if c.Kind == kind {
			return c
		}
	}
	t.Fatalf("no %s component", kind)
	return audit.Component{}
}

// sideSets collects, from the schannel contexts, the protocols each side
// allows at all.
func sideSets(t *testing.T, res audit.Result) (client, server audit.ProtocolSet) {
	for _, c := range component(t, res, audit.KindSChannel).Contexts {
		switch c.Kind {
		case "client":
			client = client.Union(c.Protocols)
		case "server":
			server = server.Union(c.Protocols)
		}
	}
	return client, server
}

func findings(res audit.Result, id audit.RuleID) []audit.Finding {
	var out []audit.Finding
	for _, f := range res.Findings {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func TestRelease(t *testing.T) {
	tests := []struct {
		build   int
		install string
		want    Release
		tls13   bool
	}{
		{6001, "Client", ReleaseVista, false},
		{6002, "Client", ReleaseVista, false},
		{6002, "Server", Release2008SP2, false},
		{7601, "Client", ReleaseWin7, false},
		{7601, "Server", ReleaseWin7, false},
		{9200, "Server", ReleaseWin8, false},
		{9600, "Client", ReleaseWin81, false},
		{10240, "Client", ReleaseWin10, false},
		{14393, "Server", ReleaseWin10v1607, false},
		{17763, "Server", ReleaseWin10v1607, false},
		{19045, "Client", ReleaseWin10v1607, false},
		{20348, "Server", ReleaseTLS13, true},
		{22621, "Client", ReleaseTLS13, true},
		{26100, "Server", ReleaseTLS13, true},
	}
	for _, tt := range tests {
		reg := windows(t, tt.build, "Windows", tt.install)
		o, err := ReadOSInfo(reg)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.Release(); got != tt.want || o.SupportsTLS13() != tt.tls13 {
			t.Errorf("build %d %s: release %v tls13 %v, want %v %v", tt.build, tt.install, got, o.SupportsTLS13(), tt.want, tt.tls13)
		}
		if !o.Is64Bit {
			t.Errorf("build %d: Wow6432Node present but Is64Bit false", tt.build)
		}
	}
	// No version at all: unknown, judged as Windows 10, no TLS 1.3.
	o, err := ReadOSInfo(platformtest.NewRegistry())
	if err != nil || o.Known || o.Release() != ReleaseUnknown || o.SupportsTLS13() || o.Is64Bit {
		t.Errorf("empty registry: %+v, %v", o, err)
	}
	// CurrentBuild is the fallback, and Windows 11 is named from the build.
	reg := platformtest.NewRegistry()
	reg.SetString(platform.LocalMachine, platform.View64, CurrentVersionKey, "CurrentBuild", "22631")
	reg.SetString(platform.LocalMachine, platform.View64, CurrentVersionKey, "ProductName", "Windows 10 Pro")
	reg.SetString(platform.LocalMachine, platform.View64, CurrentVersionKey, "DisplayVersion", "23H2")
	o, _ = ReadOSInfo(reg)
	if o.Build != 22631 || o.String() != "Windows 11 Pro 23H2 (build 22631)" {
		t.Errorf("CurrentBuild fallback: %+v %q", o, o.String())
	}
}

// TestDefaultsPerVersion audits an untouched registry of each Windows
// version and checks the protocols each side allows against the table in
// reference/windows.md §1.4.
func TestDefaultsPerVersion(t *testing.T) {
	const (
		s2, s3, t0, t1, t2, t3 = audit.SSLv2, audit.SSLv3, audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13
	)
	tests := []struct {
		name          string
		build         int
		install       string
		client        audit.ProtocolSet // allowed at all
		server        audit.ProtocolSet
		tls12Disabled int // schannel-tls12-disabled findings (sides)
		tls13         int // schannel-tls13-available findings
	}{
		{"Vista", 6001, "Client", audit.Set(s2, s3, t0), audit.Set(s2, s3, t0), 2, 0},
		{"Server 2008 SP2", 6002, "Server", audit.Set(s2, s3, t0, t1, t2), audit.Set(s2, s3, t0, t1, t2), 2, 0},
		{"Windows 7", 7601, "Client", audit.Set(s2, s3, t0, t1, t2), audit.Set(s2, s3, t0, t1, t2), 2, 0},
		{"Server 2012", 9200, "Server", audit.Set(s2, s3, t0, t1, t2), audit.Set(s2, s3, t0, t1, t2), 0, 0},
		{"Windows 8.1", 9600, "Client", audit.Set(s2, s3, t0, t1, t2), audit.Set(s2, s3, t0, t1, t2), 0, 0},
		{"Windows 10 1511", 10586, "Client", audit.Set(s2, s3, t0, t1, t2), audit.Set(s2, s3, t0, t1, t2), 0, 0},
		{"Server 2016", 14393, "Server", audit.Set(s3, t0, t1, t2), audit.Set(s3, t0, t1, t2), 0, 0},
		{"Windows 10 22H2", 19045, "Client", audit.Set(s3, t0, t1, t2), audit.Set(s3, t0, t1, t2), 0, 0},
		{"Server 2022", 20348, "Server", audit.Set(s3, t0, t1, t2, t3), audit.Set(s3, t0, t1, t2, t3), 0, 0},
		{"Windows 11 24H2", 26100, "Client", audit.Set(s3, t0, t1, t2, t3), audit.Set(s3, t0, t1, t2, t3), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := evaluate(t, windows(t, tt.build, "Windows "+tt.name, tt.install))
			client, server := sideSets(t, res)
			if client != tt.client || server != tt.server {
				t.Errorf("allowed: client %v server %v, want client %v server %v", client, server, tt.client, tt.server)
			}
			if n := len(findings(res, audit.RuleSChannelTLS12Disabled)); n != tt.tls12Disabled {
				t.Errorf("schannel-tls12-disabled: %d findings, want %d", n, tt.tls12Disabled)
			}
			if n := len(findings(res, audit.RuleSChannelTLS13Available)); n != tt.tls13 {
				t.Errorf("schannel-tls13-available: %d findings, want %d", n, tt.tls13)
			}
			// TLS 1.0 is on by default everywhere: one finding per side.
			n := 0
			for _, f := range findings(res, audit.RuleSChannelLegacyEnabled) {
				if f.Protocols == audit.Set(t0) {
					n++
					if f.Line != 0 || !strings.HasSuffix(f.File, `\Protocols\TLS 1.0\Client`) && !strings.HasSuffix(f.File, `\Protocols\TLS 1.0\Server`) {
						t.Errorf("finding location %s:%d", f.File, f.Line)
					}
					if !strings.Contains(f.Message, "OS default") {
						t.Errorf("default not named: %s", f.Message)
					}
				}
			}
			if n != 2 {
				t.Errorf("TLS 1.0 legacy findings: %d, want 2", n)
			}
			for _, c := range component(t, res, audit.KindSChannel).Contexts {
				if c.Source != audit.SourceDefault {
					t.Errorf("%s: source %s on an untouched registry", c.Name, c.Source)
				}
			}
		})
	}
}

func TestWindows7SSL2ClientDisabledServerEnabled(t *testing.T) {
	res := evaluate(t, windows(t, 7601, "Windows 7", "Client"))
	var client, server *audit.Finding
	for _, f := range findings(res, audit.RuleSChannelLegacyEnabled) {
		f := f
		if f.Protocols == audit.Set(audit.SSLv2) {
			if strings.HasSuffix(f.File, `\Client`) {
				client = &f
			} else {
				server = &f
			}
		}
	}
	// Client: disabled by default but still Enabled, so medium; server: on.
	if client == nil || client.Severity != audit.Medium || server == nil || server.Severity != audit.High {
		t.Fatalf("SSL 2.0 findings: client %+v server %+v", client, server)
	}
}

func TestExplicitSettings(t *testing.T) {
	reg := windows(t, 19045, "Windows 10 Pro", "Client")
	for _, p := range []audit.Protocol{audit.SSLv2, audit.SSLv3, audit.TLS10, audit.TLS11} {
		for _, s := range Sides {
			set(t, reg, platform.LocalMachine, platform.View64, SideKey(p, s), ValueEnabled, 0)
			set(t, reg, platform.LocalMachine, platform.View64, SideKey(p, s), ValueDisabledByDefault, 1)
		}
	}
	// TLS 1.2 client explicitly off, server left to the default.
	set(t, reg, platform.LocalMachine, platform.View64, SideKey(audit.TLS12, Client), ValueEnabled, 0)
	res := evaluate(t, reg)
	if fs := findings(res, audit.RuleSChannelLegacyEnabled); len(fs) != 0 {
		t.Errorf("legacy findings after disabling: %+v", fs)
	}
	fs := findings(res, audit.RuleSChannelTLS12Disabled)
	if len(fs) != 1 || !strings.HasSuffix(fs[0].File, `TLS 1.2\Client`) || !strings.Contains(fs[0].Message, "Enabled=0") || !fs[0].Fixable {
		t.Fatalf("tls12 findings: %+v", fs)
	}
	client, server := sideSets(t, res)
	if client != 0 || server != audit.Set(audit.TLS12) {
		t.Errorf("client %v server %v", client, server)
	}
	for _, c := range component(t, res, audit.KindSChannel).Contexts {
		want := audit.SourceDirective
		if c.Name == "TLS 1.2 Server" || c.Name == "TLS 1.3 Client" || c.Name == "TLS 1.3 Server" {
			want = audit.SourceDefault
		}
		if c.Source != want || c.Line != 0 {
			t.Errorf("%s: source %s line %d, want %s 0", c.Name, c.Source, c.Line, want)
		}
	}
	if !slices.ContainsFunc(component(t, res, audit.KindSChannel).Notes, func(n string) bool { return strings.Contains(n, "client and server differ") }) {
		t.Error("client/server mismatch not noted")
	}
}

func TestNonStandardEnabledIsOn(t *testing.T) {
	reg := windows(t, 19045, "Windows 10 Pro", "Client")
	set(t, reg, platform.LocalMachine, platform.View64, SideKey(audit.TLS11, Server), ValueEnabled, 0xffffffff)
	set(t, reg, platform.LocalMachine, platform.View64, SideKey(audit.TLS11, Server), ValueDisabledByDefault, 0)
	res := evaluate(t, reg)
	for _, c := range component(t, res, audit.KindSChannel).Contexts {
		if c.Name == "TLS 1.1 Server" && (!c.Protocols.Has(audit.TLS11) || !strings.Contains(c.Note, "0xffffffff")) {
			t.Errorf("context %+v", c)
		}
	}
}

func TestTLS13(t *testing.T) {
	// Windows 11 with TLS 1.3 switched off on the server side.
	reg := windows(t, 22631, "Windows 10 Pro", "Client")
	set(t, reg, platform.LocalMachine, platform.View64, SideKey(audit.TLS13, Server), ValueEnabled, 0)
	res := evaluate(t, reg)
	fs := findings(res, audit.RuleSChannelTLS13Available)
	if len(fs) != 1 || !strings.HasSuffix(fs[0].File, `TLS 1.3\Server`) || fs[0].Severity != audit.Low {
		t.Fatalf("tls13 findings: %+v", fs)
	}
	// The same policy at 1.3 makes it high.
	res2, err := Evaluate(reg, audit.Policy{MinProtocol: audit.TLS13, FailOn: audit.Medium})
	if err != nil {
		t.Fatal(err)
	}
	if fs := findings(res2, audit.RuleSChannelTLS13Available); len(fs) != 1 || fs[0].Severity != audit.High {
		t.Fatalf("tls13 findings with --min-version 1.3: %+v", fs)
	}
	// Windows 10 with TLS 1.3 "enabled": not supported, ignored, no finding.
	reg = windows(t, 19045, "Windows 10 Pro", "Client")
	set(t, reg, platform.LocalMachine, platform.View64, SideKey(audit.TLS13, Client), ValueEnabled, 1)
	res = evaluate(t, reg)
	client, _ := sideSets(t, res)
	if client.Has(audit.TLS13) || len(findings(res, audit.RuleSChannelTLS13Available)) != 0 {
		t.Errorf("TLS 1.3 on Windows 10: client %v, findings %+v", client, findings(res, audit.RuleSChannelTLS13Available))
	}
}

func TestDotNet(t *testing.T) {
	reg := windows(t, 19045, "Windows 10 Pro", "Client")
	// v4 native fully set; v4 32-bit half set; v2 untouched.
	set(t, reg, platform.LocalMachine, platform.View64, DotNet4Key, ValueSchUseStrongCrypto, 1)
	set(t, reg, platform.LocalMachine, platform.View64, DotNet4Key, ValueSystemDefaultTLSVersions, 1)
	set(t, reg, platform.LocalMachine, platform.View32, DotNet4Key, ValueSchUseStrongCrypto, 1)
	res := evaluate(t, reg)
	var files []string
	for _, f := range findings(res, audit.RuleDotNetStrongCryptoOff) {
		files = append(files, f.File)
		if f.Line != 0 || !f.Fixable {
			t.Errorf("finding %+v", f)
		}
	}
	want := []string{
		`HKLM\SOFTWARE\Microsoft\.NETFramework\v2.0.50727`,
		`HKLM\SOFTWARE\Wow6432Node\Microsoft\.NETFramework\v2.0.50727`,
		`HKLM\SOFTWARE\Wow6432Node\Microsoft\.NETFramework\v4.0.30319`,
	}
	slices.Sort(files)
	if !slices.Equal(files, want) {
		t.Errorf("dotnet findings at %q, want %q", files, want)
	}
	for _, f := range findings(res, audit.RuleDotNetStrongCryptoOff) {
		// v2 keys do not exist: low; the 32-bit v4 key exists: high.
		wantSev := audit.Low
		if strings.HasSuffix(f.File, "v4.0.30319") {
			wantSev = audit.High
		}
		if f.Severity != wantSev {
			t.Errorf("%s: severity %v, want %v", f.File, f.Severity, wantSev)
		}
	}
	// A 32-bit Windows has no Wow6432Node: only the two native keys.
	reg32 := platformtest.NewRegistry()
	reg32.SetString(platform.LocalMachine, platform.View64, CurrentVersionKey, "CurrentBuildNumber", "7601")
	res = evaluate(t, reg32)
	if n := len(findings(res, audit.RuleDotNetStrongCryptoOff)); n != 2 {
		t.Errorf("32-bit Windows: %d dotnet findings, want 2", n)
	}
	if n := len(component(t, res, audit.KindWinHTTP).Contexts); n != 1 {
		t.Errorf("32-bit Windows: %d WinHTTP contexts, want 1", n)
	}
}

func TestWinHTTP(t *testing.T) {
	reg := windows(t, 7601, "Windows 7", "Client")
	// Native: TLS 1.0-1.2; 32-bit: missing, so the Windows 7 default SSL3+TLS1.0.
	set(t, reg, platform.LocalMachine, platform.View64, WinHTTPKey, ValueDefaultSecureProtocols, 0xA80)
	res := evaluate(t, reg)
	legacy := findings(res, audit.RuleWinHTTPLegacyEnabled)
	missing := findings(res, audit.RuleWinHTTPTLS12Missing)
	if len(legacy) != 2 || len(missing) != 1 {
		t.Fatalf("legacy %+v\nmissing %+v", legacy, missing)
	}
	if missing[0].File != `HKLM\SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp` || !strings.Contains(missing[0].Message, "default") {
		t.Errorf("tls12 missing: %+v", missing[0])
	}
	for _, f := range legacy {
		if strings.Contains(f.File, "Wow6432Node") && f.Protocols != audit.Set(audit.SSLv3, audit.TLS10) {
			t.Errorf("32-bit default protocols %v", f.Protocols)
		}
		if !strings.Contains(f.File, "Wow6432Node") && f.Protocols != audit.Set(audit.TLS10, audit.TLS11) {
			t.Errorf("native protocols %v", f.Protocols)
		}
	}
	for _, c := range component(t, res, audit.KindWinHTTP).Contexts {
		wantSrc := audit.SourceDirective
		if strings.Contains(c.File, "Wow6432Node") {
			wantSrc = audit.SourceDefault
		}
		if c.Source != wantSrc {
			t.Errorf("%s: source %s, want %s", c.File, c.Source, wantSrc)
		}
	}
	// When SChannel blocks every legacy client protocol, the mask's legacy
	// bits matter less: low.
	for _, p := range []audit.Protocol{audit.SSLv2, audit.SSLv3, audit.TLS10, audit.TLS11} {
		set(t, reg, platform.LocalMachine, platform.View64, SideKey(p, Client), ValueEnabled, 0)
	}
	res = evaluate(t, reg)
	for _, f := range findings(res, audit.RuleWinHTTPLegacyEnabled) {
		if f.Severity != audit.Low {
			t.Errorf("with SChannel blocking legacy: %v %s", f.Severity, f.Message)
		}
	}
}

func TestWinINetPrecedence(t *testing.T) {
	tests := []struct {
		name     string
		values   map[Location]uint32
		legacyAt []string // files of wininet-legacy-enabled
		tls12At  []string
		fixable  bool
	}{
		{"nothing set: Windows 10 default", nil, []string{WinINetUser().Path()}, nil, true},
		{"user legacy", map[Location]uint32{WinINetUser(): 0xA80}, []string{WinINetUser().Path()}, nil, true},
		{"user compliant, machine legacy", map[Location]uint32{WinINetUser(): 0x800, WinINetMachine(): 0xA0},
			[]string{WinINetMachine().Path()}, []string{WinINetMachine().Path()}, true},
		{"machine policy wins over a legacy user value", map[Location]uint32{WinINetMachinePolicy(): 0x2800, WinINetUser(): 0xA0, WinINetMachine(): 0xA0}, nil, nil, true},
		{"user policy legacy beats a compliant user value", map[Location]uint32{WinINetUserPolicy(): 0x80, WinINetUser(): 0x800},
			[]string{WinINetUserPolicy().Path()}, []string{WinINetUserPolicy().Path()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := windows(t, 19045, "Windows 10 Pro", "Client")
			for l, v := range tt.values {
				set(t, reg, l.Root, l.View, l.Key, ValueSecureProtocols, v)
			}
			res := evaluate(t, reg)
			var legacy, tls12 []string
			for _, f := range findings(res, audit.RuleWinINetLegacyEnabled) {
				legacy = append(legacy, f.File)
				if f.Fixable != tt.fixable {
					t.Errorf("fixable %v, want %v", f.Fixable, tt.fixable)
				}
			}
			for _, f := range findings(res, audit.RuleWinINetTLS12Missing) {
				tls12 = append(tls12, f.File)
			}
			if !slices.Equal(legacy, tt.legacyAt) || !slices.Equal(tls12, tt.tls12At) {
				t.Errorf("legacy at %q, tls12 missing at %q; want %q, %q", legacy, tls12, tt.legacyAt, tt.tls12At)
			}
		})
	}
}

func TestWrongTypeIsConfigError(t *testing.T) {
	reg := windows(t, 19045, "Windows 10 Pro", "Client")
	reg.SetString(platform.LocalMachine, platform.View64, SideKey(audit.TLS10, Server), ValueEnabled, "0")
	_, err := Evaluate(reg, audit.DefaultPolicy())
	var ce *audit.ConfigError
	if !errors.As(err, &ce) || ce.Path != `HKLM\`+SideKey(audit.TLS10, Server) || ce.Line != 0 {
		t.Fatalf("err = %v, want a ConfigError at the TLS 1.0 Server key", err)
	}
}

func TestHardenedIsCompliant(t *testing.T) {
	for _, build := range []int{19045, 26100} {
		reg := windows(t, build, "Windows", "Client")
		osi, _ := ReadOSInfo(reg)
		for _, p := range audit.AllProtocols {
			on := p == audit.TLS12 || p == audit.TLS13 && osi.SupportsTLS13()
			for _, s := range Sides {
				set(t, reg, platform.LocalMachine, platform.View64, SideKey(p, s), ValueEnabled, yesNo(on))
				set(t, reg, platform.LocalMachine, platform.View64, SideKey(p, s), ValueDisabledByDefault, yesNo(!on))
			}
		}
		for _, l := range DotNetLocations(osi) {
			set(t, reg, l.Root, l.View, l.Key, ValueSchUseStrongCrypto, 1)
			set(t, reg, l.Root, l.View, l.Key, ValueSystemDefaultTLSVersions, 1)
		}
		mask := BitTLS12
		if osi.SupportsTLS13() {
			mask |= BitTLS13
		}
		for _, l := range WinHTTPLocations(osi) {
			set(t, reg, l.Root, l.View, l.Key, ValueDefaultSecureProtocols, mask)
		}
		set(t, reg, WinINetUser().Root, WinINetUser().View, WinINetUser().Key, ValueSecureProtocols, mask)
		res := evaluate(t, reg)
		if len(res.Findings) != 0 {
			t.Errorf("build %d hardened: findings %+v", build, res.Findings)
		}
	}
}

func TestMask(t *testing.T) {
	tests := []struct {
		mask    uint32
		want    audit.ProtocolSet
		unknown uint32
		text    string
	}{
		{0xA80, audit.Set(audit.TLS10, audit.TLS11, audit.TLS12), 0, "0xa80 (TLSv1.0 TLSv1.1 TLSv1.2)"},
		{0x2800, audit.Set(audit.TLS12, audit.TLS13), 0, "0x2800 (TLSv1.2 TLSv1.3)"},
		{0xAA8, audit.Set(audit.SSLv2, audit.SSLv3, audit.TLS10, audit.TLS11, audit.TLS12), 0, "0xaa8 (SSLv2 SSLv3 TLSv1.0 TLSv1.1 TLSv1.2)"},
		{0x0, 0, 0, "0x0 (none)"},
		{0x801, audit.Set(audit.TLS12), 1, "0x801 (TLSv1.2 + unknown bits 0x1)"},
	}
	for _, tt := range tests {
		got, unk := MaskProtocols(tt.mask)
		if got != tt.want || unk != tt.unknown || FormatMask(tt.mask) != tt.text {
			t.Errorf("mask %#x: %v %#x %q", tt.mask, got, unk, FormatMask(tt.mask))
		}
		if unk == 0 && ProtocolMask(got) != tt.mask {
			t.Errorf("ProtocolMask(%v) = %#x, want %#x", got, ProtocolMask(got), tt.mask)
		}
	}
}
