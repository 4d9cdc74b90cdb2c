// Package registry fixes the Windows registry side of tlsfloor: it plans the
// DWORD values that turn off SSL 2.0/3.0 and TLS 1.0/1.1 and turn on TLS 1.2
// (and 1.3 where the build supports it) for SChannel, .NET Framework,
// WinHTTP and WinINet; prints the plan as a list of values old -> new;
// applies it after writing a .reg backup and a manifest; puts every value
// back when a write fails part-way; and rolls a fix back exactly, deleting
// the values and keys the fix created. It works on platform.Registry only,
// so all of it is tested on every OS with the in-memory fake. It imports
// audit and platform, never cmd.
package registry

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/schannel"
	"github.com/tlsfloor/tlsfloor/platform"
)

// TLS13 says what to do about TLS 1.3 (the --tls13 flag).
type TLS13 string

// TLS 1.3 modes.
const (
	TLS13Auto TLS13 = "auto" // enable where the Windows build supports it
	TLS13On   TLS13 = "on"   // enable, and refuse on builds without it
	TLS13Off  TLS13 = "off"  // leave the TLS 1.3 keys alone; masks get TLS 1.2 only
)

// Options shape the plan.
type Options struct {
	// MinProtocol is the oldest protocol to keep: TLS12 (default) or TLS13.
	MinProtocol audit.Protocol
	TLS13       TLS13
}

// ErrTLS13Unsupported means TLS 1.3 was required on a build without it.
var ErrTLS13Unsupported = errors.New("this Windows build does not support TLS 1.3 (it needs Windows 11 or Server 2022); enabling it earlier is not a safe configuration")

// Change is one DWORD value to write.
type Change struct {
	Component audit.ComponentKind `json:"component"`
	Root      platform.Root       `json:"-"`
	View      platform.View       `json:"-"`
	Key       string              `json:"-"`
	// Path is the key as regedit shows it, e.g. HKLM\SOFTWARE\Wow6432Node\...
	Path string `json:"key"`
	Name string `json:"value"`
	// Old is nil when the value is missing.
	Old *uint32 `json:"old"`
	New uint32  `json:"new"`
	// Mask says the value is a protocol bit mask (printed in hex).
	Mask bool `json:"-"`
}

// Plan is every value a fix writes. Nothing is written while planning.
type Plan struct {
	OS      schannel.OSInfo
	Target  audit.ProtocolSet
	Changes []Change
	// Notes explain choices and what the plan leaves alone.
	Notes []string
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// RestartRequired reports whether SChannel or .NET values change: both are
// read when a process starts or acquires new credentials.
func (p *Plan) RestartRequired() bool {
	for _, c := range p.Changes {
		if c.Component == audit.KindSChannel || c.Component == audit.KindDotNet {
			return true
		}
	}
	return false
}

// NewPlan reads the current values and plans the changes.
func NewPlan(reg platform.Registry, opt Options) (*Plan, error) {
	if opt.MinProtocol == 0 {
		opt.MinProtocol = audit.TLS12
	}
	if opt.TLS13 == "" {
		opt.TLS13 = TLS13Auto
	}
	osi, err := schannel.ReadOSInfo(reg)
	if err != nil {
		return nil, fmt.Errorf("registry: read the Windows version: %w", err)
	}
	p := &Plan{OS: osi}
	enable13 := false
	switch opt.TLS13 {
	case TLS13On:
		if !osi.SupportsTLS13() {
			return nil, fmt.Errorf("--tls13 on: %s: %w", osi, ErrTLS13Unsupported)
		}
		enable13 = true
	case TLS13Auto:
		enable13 = osi.SupportsTLS13()
		if !enable13 {
			p.Notes = append(p.Notes, fmt.Sprintf("TLS 1.3 left alone: %s does not support it", osi))
		}
	case TLS13Off:
		p.Notes = append(p.Notes, "TLS 1.3 left alone (--tls13 off)")
	}
	if opt.MinProtocol == audit.TLS13 && !enable13 {
		return nil, fmt.Errorf("--min-version 1.3: %s: %w", osi, ErrTLS13Unsupported)
	}
	for _, pr := range audit.AllProtocols {
		if pr >= opt.MinProtocol && (pr != audit.TLS13 || enable13) {
			p.Target = p.Target.With(pr)
		}
	}
	if !osi.Known {
		p.Notes = append(p.Notes, "the Windows build could not be read from "+platform.KeyPath(platform.LocalMachine, platform.View64, schannel.CurrentVersionKey))
	}

	want := func(comp audit.ComponentKind, l schannel.Location, name string, v uint32, mask bool) error {
		cur, err := schannel.ReadDWORD(reg, l, name)
		if err != nil {
			return err
		}
		if cur.Set && cur.Value == v {
			return nil
		}
		c := Change{Component: comp, Root: l.Root, View: l.View, Key: l.Key, Path: l.Path(), Name: name, New: v, Mask: mask}
		if cur.Set {
			old := cur.Value
			c.Old = &old
		}
		p.Changes = append(p.Changes, c)
		return nil
	}

	for _, pr := range audit.AllProtocols {
		if pr == audit.TLS13 && !enable13 {
			continue
		}
		on := p.Target.Has(pr)
		for _, side := range schannel.Sides {
			l := schannel.Location{Root: platform.LocalMachine, View: platform.View64, Key: schannel.SideKey(pr, side)}
			if err := want(audit.KindSChannel, l, schannel.ValueEnabled, b2u(on), false); err != nil {
				return nil, err
			}
			if err := want(audit.KindSChannel, l, schannel.ValueDisabledByDefault, b2u(!on), false); err != nil {
				return nil, err
			}
		}
	}
	for _, l := range schannel.DotNetLocations(osi) {
		for _, name := range []string{schannel.ValueSchUseStrongCrypto, schannel.ValueSystemDefaultTLSVersions} {
			if err := want(audit.KindDotNet, l, name, 1, false); err != nil {
				return nil, err
			}
		}
	}
	mask := schannel.ProtocolMask(p.Target)
	for _, l := range schannel.WinHTTPLocations(osi) {
		if err := want(audit.KindWinHTTP, l, schannel.ValueDefaultSecureProtocols, mask, true); err != nil {
			return nil, err
		}
	}
	if err := want(audit.KindWinINet, schannel.WinINetUser(), schannel.ValueSecureProtocols, mask, true); err != nil {
		return nil, err
	}
	machine, err := schannel.ReadDWORD(reg, schannel.WinINetMachine(), schannel.ValueSecureProtocols)
	if err != nil {
		return nil, err
	}
	if machine.Set {
		if err := want(audit.KindWinINet, schannel.WinINetMachine(), schannel.ValueSecureProtocols, mask, true); err != nil {
			return nil, err
		}
	}
	for _, l := range []schannel.Location{schannel.WinINetMachinePolicy(), schannel.WinINetUserPolicy()} {
		v, err := schannel.ReadDWORD(reg, l, schannel.ValueSecureProtocols)
		if err != nil {
			return nil, err
		}
		if v.Set && v.Value != mask {
			p.Notes = append(p.Notes, fmt.Sprintf("%s sets SecureProtocols=%s and overrides the values above; tlsfloor does not write policy keys, change the Group Policy instead", l.Path(), schannel.FormatMask(v.Value)))
		}
	}
	return p, nil
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func (c Change) format(v *uint32) string {
	switch {
	case v == nil:
		return "(missing)"
	case c.Mask:
		return schannel.FormatMask(*v)
	}
	return fmt.Sprintf("%d", *v)
}

// OldString and NewString print the values for people.
func (c Change) OldString() string { return c.format(c.Old) }

// NewString prints the new value.
func (c Change) NewString() string { v := c.New; return c.format(&v) }

// WriteDiff prints the plan: each key once, then its values old -> new.
func (p *Plan) WriteDiff(w io.Writer) error {
	var b strings.Builder
	if p.Empty() {
		fmt.Fprintf(&b, "Nothing to change: the registry already allows %s only.\n", p.Target)
	} else {
		fmt.Fprintf(&b, "Registry changes for %s (target: %s):\n", p.OS, p.Target)
		last, width, keys := "", 0, 0
		for i, c := range p.Changes {
			if c.Path != last {
				fmt.Fprintf(&b, "\n%s\n", c.Path)
				last = c.Path
				keys++
				// Align the values of one key.
				width = 0
				for _, d := range p.Changes[i:] {
					if d.Path != c.Path {
						break
					}
					width = max(width, len(d.Name))
				}
			}
			fmt.Fprintf(&b, "  %-*s  %s -> %s\n", width, c.Name, c.OldString(), c.NewString())
		}
		fmt.Fprintf(&b, "\n%d values in %d keys.\n", len(p.Changes), keys)
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
