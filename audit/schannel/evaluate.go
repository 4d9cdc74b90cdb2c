package schannel

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// Scanner audits the Windows registry. It reads env.Registry only.
type Scanner struct{}

// Name implements audit.Scanner.
func (Scanner) Name() string { return "windows-registry" }

// Scan implements audit.Scanner.
func (Scanner) Scan(_ context.Context, env *audit.Env) (audit.Result, error) {
	if env.Registry == nil {
		return audit.Result{}, platform.ErrUnsupportedPlatform
	}
	return Evaluate(env.Registry, env.Policy)
}

// DWORD is a registry value as read: Set is false when it is absent.
type DWORD struct {
	Value uint32
	Set   bool
}

func (d DWORD) String() string {
	if !d.Set {
		return "(missing)"
	}
	return fmt.Sprintf("%d", d.Value)
}

// ReadDWORD reads a value. Absent is not an error; a value of another type
// is a *audit.ConfigError naming the key, because we cannot tell what
// Windows makes of it.
func ReadDWORD(reg platform.Registry, l Location, name string) (DWORD, error) {
	v, err := reg.GetDWORD(l.Root, l.View, l.Key, name)
	switch {
	case err == nil:
		return DWORD{Value: v, Set: true}, nil
	case errors.Is(err, platform.ErrNotExist):
		return DWORD{}, nil
	case errors.Is(err, platform.ErrUnexpectedType):
		return DWORD{}, audit.Errorf(l.Path(), 0, "%s is not a REG_DWORD; delete it or set it as a DWORD", name)
	}
	return DWORD{}, fmt.Errorf("registry: %w", err)
}

// SideState is the evaluated state of one SChannel protocol and side.
type SideState struct {
	Protocol          audit.Protocol
	Side              Side
	Enabled           DWORD
	DisabledByDefault DWORD
	Default           Default
}

// Location is the key of this protocol and side.
func (s SideState) Location() Location {
	return Location{platform.LocalMachine, platform.View64, SideKey(s.Protocol, s.Side), ProtocolKeyName(s.Protocol) + " " + string(s.Side)}
}

// Allowed reports whether SChannel can negotiate the protocol at all: the
// OS supports it and Enabled is non-zero (set or by default). Windows reads
// any non-zero Enabled as on.
func (s SideState) Allowed() bool {
	if !s.Default.Supported {
		return false
	}
	if s.Enabled.Set {
		return s.Enabled.Value != 0
	}
	return s.Default.Enabled
}

// OnByDefault reports whether the protocol is used when an application asks
// for the system default: allowed and not DisabledByDefault.
func (s SideState) OnByDefault() bool {
	if !s.Allowed() {
		return false
	}
	if s.DisabledByDefault.Set {
		return s.DisabledByDefault.Value == 0
	}
	return !s.Default.DisabledByDefault
}

// Source is "directive" when either value is set, else "default".
func (s SideState) Source() audit.Source {
	if s.Enabled.Set || s.DisabledByDefault.Set {
		return audit.SourceDirective
	}
	return audit.SourceDefault
}

func yesNo(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// describe says where each value comes from, for notes and messages.
func (s SideState) describe() string {
	if !s.Default.Supported {
		msg := "not supported by this Windows build"
		if s.Enabled.Set || s.DisabledByDefault.Set {
			msg += fmt.Sprintf(" (Enabled=%s, DisabledByDefault=%s are ignored)", s.Enabled, s.DisabledByDefault)
		}
		return msg
	}
	part := func(name string, d DWORD, def bool) string {
		if d.Set {
			return fmt.Sprintf("%s=%d", name, d.Value)
		}
		return fmt.Sprintf("%s missing (OS default %d)", name, yesNo(def))
	}
	return part(ValueEnabled, s.Enabled, s.Default.Enabled) + ", " + part(ValueDisabledByDefault, s.DisabledByDefault, s.Default.DisabledByDefault)
}

// ReadSide reads one protocol and side.
func ReadSide(reg platform.Registry, rel Release, p audit.Protocol, side Side) (SideState, error) {
	st := SideState{Protocol: p, Side: side, Default: Defaults(rel, p, side)}
	l := st.Location()
	var err error
	if st.Enabled, err = ReadDWORD(reg, l, ValueEnabled); err != nil {
		return st, err
	}
	if st.DisabledByDefault, err = ReadDWORD(reg, l, ValueDisabledByDefault); err != nil {
		return st, err
	}
	return st, nil
}

// Evaluate reads every setting and returns the four components (schannel,
// dotnet, winhttp, wininet) and their findings.
func Evaluate(reg platform.Registry, pol audit.Policy) (audit.Result, error) {
	osi, err := ReadOSInfo(reg)
	if err != nil {
		return audit.Result{}, fmt.Errorf("registry: read the Windows version: %w", err)
	}
	var res audit.Result
	sc, clientSet, err := evalSChannel(reg, osi, pol, &res)
	if err != nil {
		return audit.Result{}, err
	}
	res.Components = append(res.Components, sc)
	steps := []func(platform.Registry, OSInfo, audit.Policy, audit.ProtocolSet, *audit.Result) (audit.Component, error){
		evalDotNet, evalWinHTTP, evalWinINet,
	}
	for _, step := range steps {
		c, err := step(reg, osi, pol, clientSet, &res)
		if err != nil {
			return audit.Result{}, err
		}
		res.Components = append(res.Components, c)
	}
	return res, nil
}

func osNote(osi OSInfo) string {
	if !osi.Known {
		return "the Windows build could not be read; missing values are judged with Windows 10 / Server 2019 defaults"
	}
	return fmt.Sprintf("missing values are judged with the defaults of %s", osi.Release())
}

// evalSChannel returns the component and the client protocols used by
// default (what WinHTTP, WinINet and .NET can use at most).
func evalSChannel(reg platform.Registry, osi OSInfo, pol audit.Policy, res *audit.Result) (audit.Component, audit.ProtocolSet, error) {
	rel := osi.Release()
	comp := audit.Component{
		Kind: audit.KindSChannel, Path: platform.KeyPath(platform.LocalMachine, platform.View64, ProtocolsKey),
		Version: osi.String(), Status: audit.StatusOK,
		Notes: []string{osNote(osi), "SChannel reads these values for new credential handles: restart the services (or the machine) after a change"},
	}
	var clientDefault audit.ProtocolSet
	allowed := map[Side]audit.ProtocolSet{}
	for _, p := range audit.AllProtocols {
		for _, side := range Sides {
			st, err := ReadSide(reg, rel, p, side)
			if err != nil {
				return comp, 0, err
			}
			l := st.Location()
			ctx := audit.Context{
				File: l.Path(), Kind: strings.ToLower(string(side)), Name: l.Label,
				Protocols: 0, Source: st.Source(), Note: st.describe(),
			}
			if st.Allowed() {
				ctx.Protocols = audit.Set(p)
				allowed[side] = allowed[side].With(p)
				if !st.OnByDefault() {
					ctx.Note += "; disabled by default: used only by applications that ask for it explicitly"
				}
			}
			if st.OnByDefault() && side == Client {
				clientDefault = clientDefault.With(p)
			}
			if st.Enabled.Set && st.Enabled.Value != 0 && st.Enabled.Value != 1 {
				ctx.Note += fmt.Sprintf("; Enabled=%#x is read as on, but only 0 and 1 are documented", st.Enabled.Value)
			}
			comp.Contexts = append(comp.Contexts, ctx)
			res.Findings = append(res.Findings, sideFindings(st, osi, pol)...)
		}
	}
	if allowed[Client] != allowed[Server] {
		comp.Notes = append(comp.Notes, fmt.Sprintf("client and server differ: client allows %s, server allows %s", allowed[Client], allowed[Server]))
	}
	return comp, clientDefault, nil
}

func sideFindings(st SideState, osi OSInfo, pol audit.Policy) []audit.Finding {
	var out []audit.Finding
	loc := audit.Location{File: st.Location().Path()}
	origin := "set in the registry"
	if st.Source() == audit.SourceDefault {
		origin = "OS default for " + osi.Release().String() + ": no value set"
	}
	p, side := st.Protocol, strings.ToLower(string(st.Side))
	switch {
	case p < pol.MinProtocol && st.Allowed():
		f := audit.NewFinding(audit.RuleSChannelLegacyEnabled, audit.KindSChannel, loc, audit.Set(p),
			fmt.Sprintf("%s is enabled for the %s side (%s; %s)", ProtocolKeyName(p), side, origin, st.describe()))
		if !st.OnByDefault() {
			f.Severity = audit.Medium
			f.Message += "; medium because it is disabled by default and used only when an application asks for it"
		}
		f.Fixable = true
		out = append(out, f)
	case p == audit.TLS12 && pol.MinProtocol <= audit.TLS12 && !st.OnByDefault():
		f := audit.NewFinding(audit.RuleSChannelTLS12Disabled, audit.KindSChannel, loc, audit.Set(p),
			fmt.Sprintf("TLS 1.2 is not on by default for the %s side (%s; %s)", side, origin, st.describe()))
		f.Fixable = st.Default.Supported
		if !st.Default.Supported {
			f.Message += "; this Windows build needs an update (KB4019276) before TLS 1.2 can be enabled"
		}
		out = append(out, f)
	case p == audit.TLS13 && st.Default.Supported && !st.OnByDefault():
		f := audit.NewFinding(audit.RuleSChannelTLS13Available, audit.KindSChannel, loc, audit.Set(p),
			fmt.Sprintf("TLS 1.3 is supported by %s but not on for the %s side (%s)", osi, side, st.describe()))
		if pol.MinProtocol == audit.TLS13 {
			f.Severity = audit.High
			f.Message += "; high because the policy requires TLS 1.3"
		}
		f.Fixable = true
		out = append(out, f)
	}
	return out
}

func evalDotNet(reg platform.Registry, osi OSInfo, pol audit.Policy, clientSet audit.ProtocolSet, res *audit.Result) (audit.Component, error) {
	comp := audit.Component{Kind: audit.KindDotNet, Path: platform.KeyPath(platform.LocalMachine, platform.View64, `SOFTWARE\Microsoft\.NETFramework`), Status: audit.StatusOK,
		Notes: []string{"applications that set ServicePointManager.SecurityProtocol or SslProtocols themselves override these machine-wide switches"}}
	for _, l := range DotNetLocations(osi) {
		strong, err := ReadDWORD(reg, l, ValueSchUseStrongCrypto)
		if err != nil {
			return comp, err
		}
		sysdef, err := ReadDWORD(reg, l, ValueSystemDefaultTLSVersions)
		if err != nil {
			return comp, err
		}
		installed, err := reg.KeyExists(l.Root, l.View, l.Key)
		if err != nil {
			return comp, fmt.Errorf("registry: %w", err)
		}
		ctx := audit.Context{File: l.Path(), Kind: "dotnet", Name: l.Label, Source: audit.SourceDefault,
			Note: fmt.Sprintf("%s=%s, %s=%s", ValueSchUseStrongCrypto, strong, ValueSystemDefaultTLSVersions, sysdef)}
		if strong.Set || sysdef.Set {
			ctx.Source = audit.SourceDirective
		}
		good := strong.Set && strong.Value == 1 && sysdef.Set && sysdef.Value == 1
		if good {
			ctx.Protocols = clientSet
			ctx.Note += "; follows the SChannel client defaults"
		} else {
			// Without the switches, applications built for .NET 4.5.2 or
			// older offer SSL 3.0 and TLS 1.0 only.
			ctx.Protocols = clientSet.Union(audit.Set(audit.SSLv3, audit.TLS10))
			ctx.Note += "; applications targeting .NET 4.5.2 or older may use SSL 3.0/TLS 1.0 only, newer targets follow their own defaults"
		}
		if !installed {
			ctx.Note += "; this framework version is not installed (key missing)"
		}
		comp.Contexts = append(comp.Contexts, ctx)
		if good {
			continue
		}
		f := audit.NewFinding(audit.RuleDotNetStrongCryptoOff, audit.KindDotNet, audit.Location{File: l.Path()},
			audit.Set(audit.SSLv3, audit.TLS10),
			fmt.Sprintf("%s: %s=%s and %s=%s, both should be 1", l.Label, ValueSchUseStrongCrypto, strong, ValueSystemDefaultTLSVersions, sysdef))
		if !installed {
			f.Severity = audit.Low
			f.Message += "; low because this framework version is not installed (it applies if it is installed later)"
		}
		f.Fixable = true
		res.Findings = append(res.Findings, f)
	}
	return comp, nil
}

// maskFindings judges a WinHTTP or WinINet mask.
func maskFindings(kind audit.ComponentKind, legacyRule, tls12Rule audit.RuleID, l Location, mask uint32, origin string, clientSet audit.ProtocolSet, pol audit.Policy) []audit.Finding {
	var out []audit.Finding
	set, _ := MaskProtocols(mask)
	loc := audit.Location{File: l.Path()}
	if legacy := set.Below(pol.MinProtocol); !legacy.Empty() {
		f := audit.NewFinding(legacyRule, kind, loc, legacy,
			fmt.Sprintf("%s allows %s: %s (%s)", l.Label, legacy, FormatMask(mask), origin))
		if legacy.Intersect(clientSet).Empty() {
			f.Severity = audit.Low
			f.Message += "; low because SChannel currently blocks these protocols for clients"
		}
		out = append(out, f)
	}
	if pol.MinProtocol <= audit.TLS12 && !set.Has(audit.TLS12) {
		out = append(out, audit.NewFinding(tls12Rule, kind, loc, set,
			fmt.Sprintf("%s lacks TLS 1.2: %s (%s)", l.Label, FormatMask(mask), origin)))
	}
	return out
}

func evalWinHTTP(reg platform.Registry, osi OSInfo, pol audit.Policy, clientSet audit.ProtocolSet, res *audit.Result) (audit.Component, error) {
	comp := audit.Component{Kind: audit.KindWinHTTP, Path: platform.KeyPath(platform.LocalMachine, platform.View64, WinHTTPKey), Status: audit.StatusOK,
		Notes: []string{"applications that call WinHttpSetOption(WINHTTP_OPTION_SECURE_PROTOCOLS) override DefaultSecureProtocols; SChannel's client settings still apply on top"}}
	for _, l := range WinHTTPLocations(osi) {
		v, err := ReadDWORD(reg, l, ValueDefaultSecureProtocols)
		if err != nil {
			return comp, err
		}
		mask, src, origin := v.Value, audit.SourceDirective, "set in the registry"
		if !v.Set {
			mask, src = WinHTTPDefault(osi.Release()), audit.SourceDefault
			origin = "built-in default of " + osi.Release().String() + ": no value set"
			if osi.Release() == ReleaseWin10v1607 || osi.Release() == ReleaseWin10 {
				origin += "; KB5017811 (2022) removes TLS 1.0/1.1 on some Windows 10 builds, which the registry does not show"
			}
		}
		set, _ := MaskProtocols(mask)
		comp.Contexts = append(comp.Contexts, audit.Context{File: l.Path(), Kind: "winhttp", Name: l.Label,
			Protocols: set.Intersect(clientSet), Source: src,
			Note: fmt.Sprintf("%s=%s; usable: the mask and the SChannel client defaults together", ValueDefaultSecureProtocols, maskOrMissing(v, mask))})
		fs := maskFindings(audit.KindWinHTTP, audit.RuleWinHTTPLegacyEnabled, audit.RuleWinHTTPTLS12Missing, l, mask, origin, clientSet, pol)
		for i := range fs {
			fs[i].Fixable = true
		}
		res.Findings = append(res.Findings, fs...)
	}
	return comp, nil
}

func maskOrMissing(v DWORD, def uint32) string {
	if v.Set {
		return FormatMask(v.Value)
	}
	return "(missing), default " + FormatMask(def)
}

func evalWinINet(reg platform.Registry, osi OSInfo, pol audit.Policy, clientSet audit.ProtocolSet, res *audit.Result) (audit.Component, error) {
	comp := audit.Component{Kind: audit.KindWinINet, Path: platform.KeyPath(platform.CurrentUser, platform.View64, InternetSettingsKey), Status: audit.StatusOK,
		Notes: []string{"precedence assumed: machine policy > user policy > current user > machine (Microsoft documents only that a policy beats the user's checkboxes)"}}
	locs := WinINetLocations()
	vals := make([]DWORD, len(locs))
	effective := -1
	for i, l := range locs {
		v, err := ReadDWORD(reg, l, ValueSecureProtocols)
		if err != nil {
			return comp, err
		}
		vals[i] = v
		if v.Set && effective < 0 {
			effective = i
		}
	}
	policyEffective := effective == 0 || effective == 1
	for i, l := range locs {
		ctx := audit.Context{File: l.Path(), Kind: "wininet", Name: l.Label, Source: audit.SourceDirective}
		switch {
		case !vals[i].Set:
			ctx.Source = audit.SourceDefault
			ctx.Note = ValueSecureProtocols + " not set"
		case i == effective:
			set, _ := MaskProtocols(vals[i].Value)
			ctx.Protocols = set
			ctx.Note = ValueSecureProtocols + "=" + FormatMask(vals[i].Value) + "; effective"
		default:
			set, _ := MaskProtocols(vals[i].Value)
			ctx.Protocols = set
			ctx.Note = ValueSecureProtocols + "=" + FormatMask(vals[i].Value) + "; overridden by " + locs[effective].Label
		}
		comp.Contexts = append(comp.Contexts, ctx)
	}
	if effective < 0 {
		def := WinINetDefault(osi.Release())
		set, _ := MaskProtocols(def)
		comp.Contexts = append(comp.Contexts, audit.Context{File: WinINetUser().Path(), Kind: "wininet", Name: "Internet Options default",
			Protocols: set, Source: audit.SourceDefault,
			Note: "no SecureProtocols anywhere; assumed default " + FormatMask(def) + " for " + osi.Release().String() + " (Microsoft publishes no table)"})
		fs := maskFindings(audit.KindWinINet, audit.RuleWinINetLegacyEnabled, audit.RuleWinINetTLS12Missing, WinINetUser(), def,
			"assumed built-in default: no value set", clientSet, pol)
		for i := range fs {
			fs[i].Fixable = true
		}
		res.Findings = append(res.Findings, fs...)
		return comp, nil
	}
	fs := maskFindings(audit.KindWinINet, audit.RuleWinINetLegacyEnabled, audit.RuleWinINetTLS12Missing, locs[effective], vals[effective].Value, "effective setting", clientSet, pol)
	for i := range fs {
		fs[i].Fixable = !policyEffective
		if policyEffective {
			fs[i].Remediation = "change the Group Policy \"Turn off encryption support\" (Internet Control Panel > Advanced Page); tlsfloor does not write policy keys"
		}
	}
	res.Findings = append(res.Findings, fs...)
	// The machine value is what users without their own setting get.
	const machine = 3
	if !policyEffective && effective != machine && vals[machine].Set {
		fs := maskFindings(audit.KindWinINet, audit.RuleWinINetLegacyEnabled, audit.RuleWinINetTLS12Missing, locs[machine], vals[machine].Value,
			"applies to users without their own setting", clientSet, pol)
		for i := range fs {
			fs[i].Fixable = true
			if fs[i].Severity > audit.Medium {
				fs[i].Severity = audit.Medium
			}
		}
		res.Findings = append(res.Findings, fs...)
	}
	return comp, nil
}
