// Package schannel audits the Windows registry settings that decide which
// TLS versions Windows components use: SChannel (per protocol, client and
// server), the .NET Framework strong-crypto switches, WinHTTP's
// DefaultSecureProtocols and WinINet's SecureProtocols (Internet Options).
// A missing key or value means the OS default, which depends on the Windows
// version read from HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion.
// Everything here is plain Go over platform.Registry and is tested on every
// OS with the in-memory fake. It must not import cmd/ or remediate/.
package schannel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// CurrentVersionKey holds the Windows version and build.
const CurrentVersionKey = `SOFTWARE\Microsoft\Windows NT\CurrentVersion`

// Release is a row of the OS defaults table (reference/windows.md §1.4).
type Release uint8

// Windows releases, oldest first. Releases that share defaults share a row.
const (
	ReleaseUnknown    Release = iota
	ReleaseVista              // Vista / Server 2008 (6000, 6001; Vista SP2)
	Release2008SP2            // Server 2008 SP2 (6002 server)
	ReleaseWin7               // Windows 7 / Server 2008 R2 (7600, 7601)
	ReleaseWin8               // Windows 8 / Server 2012 (9200)
	ReleaseWin81              // Windows 8.1 / Server 2012 R2 (9600)
	ReleaseWin10              // Windows 10 before 1607 (10240, 10586)
	ReleaseWin10v1607         // Windows 10 1607 … 22H2, Server 2016, Server 2019
	ReleaseTLS13              // Server 2022, Windows 11, Server 2025 and later
)

var releaseNames = [...]string{"unknown Windows", "Windows Vista / Server 2008", "Windows Server 2008 SP2",
	"Windows 7 / Server 2008 R2", "Windows 8 / Server 2012", "Windows 8.1 / Server 2012 R2",
	"Windows 10 (before 1607)", "Windows 10 1607+ / Server 2016 / Server 2019", "Windows 11 / Server 2022 or later"}

func (r Release) String() string {
	if int(r) < len(releaseNames) {
		return releaseNames[r]
	}
	return fmt.Sprintf("Release(%d)", uint8(r))
}

// OSInfo is what the registry says about the Windows version.
type OSInfo struct {
	ProductName      string // "Windows 10 Pro" (Windows 11 still says Windows 10 here)
	InstallationType string // "Client", "Server", "Server Core"
	DisplayVersion   string // "22H2"
	Build            int    // CurrentBuildNumber / CurrentBuild
	Major, Minor     int    // CurrentMajorVersionNumber / CurrentMinorVersionNumber (Windows 10+)
	Is64Bit          bool   // HKLM\SOFTWARE\Wow6432Node exists: there is a separate 32-bit view
	Known            bool   // the build number could be read
}

// Server reports whether this is a server installation.
func (o OSInfo) Server() bool {
	return strings.HasPrefix(strings.ToLower(o.InstallationType), "server") ||
		strings.Contains(strings.ToLower(o.ProductName), "server")
}

// Release classifies the build into a row of the defaults table.
func (o OSInfo) Release() Release {
	if !o.Known {
		return ReleaseUnknown
	}
	b := o.Build
	switch {
	case b >= 22000, b >= 20348 && o.Server():
		return ReleaseTLS13
	case b >= 14393:
		return ReleaseWin10v1607
	case b >= 10240:
		return ReleaseWin10
	case b >= 9600:
		return ReleaseWin81
	case b >= 9200:
		return ReleaseWin8
	case b >= 7600:
		return ReleaseWin7
	case b >= 6002 && o.Server():
		return Release2008SP2
	case b >= 6000:
		return ReleaseVista
	}
	return ReleaseUnknown
}

// String describes the OS for reports: "Windows 10 Pro 22H2 (build 19045)".
func (o OSInfo) String() string {
	if !o.Known {
		return "unknown Windows version"
	}
	name := o.ProductName
	// Windows 11 keeps "Windows 10" in ProductName; the build tells.
	if o.Build >= 22000 && !o.Server() {
		name = strings.Replace(name, "Windows 10", "Windows 11", 1)
	}
	if name == "" {
		name = o.Release().String()
	}
	if o.DisplayVersion != "" {
		name += " " + o.DisplayVersion
	}
	return fmt.Sprintf("%s (build %d)", name, o.Build)
}

// SupportsTLS13 reports whether SChannel can negotiate TLS 1.3 on this
// build. Enabling it earlier "is not a safe system configuration".
func (o OSInfo) SupportsTLS13() bool { return o.Release() == ReleaseTLS13 }

// ReadOSInfo reads the Windows version. Values that are missing leave their
// field empty; with no build number the audit assumes Windows 10 defaults
// and says so.
func ReadOSInfo(reg platform.Registry) (OSInfo, error) {
	var o OSInfo
	str := func(name string) (string, error) {
		s, err := reg.GetString(platform.LocalMachine, platform.View64, CurrentVersionKey, name)
		if errors.Is(err, platform.ErrNotExist) || errors.Is(err, platform.ErrUnexpectedType) {
			return "", platform.ErrNotExist
		}
		return s, err
	}
	var err error
	if o.ProductName, err = str("ProductName"); err != nil && !errors.Is(err, platform.ErrNotExist) {
		return o, err
	}
	if o.InstallationType, err = str("InstallationType"); err != nil && !errors.Is(err, platform.ErrNotExist) {
		return o, err
	}
	if o.DisplayVersion, err = str("DisplayVersion"); err != nil && !errors.Is(err, platform.ErrNotExist) {
		return o, err
	}
	if o.DisplayVersion == "" {
		if o.DisplayVersion, err = str("ReleaseId"); err != nil && !errors.Is(err, platform.ErrNotExist) {
			return o, err
		}
	}
	for _, name := range []string{"CurrentBuildNumber", "CurrentBuild"} {
		s, err := str(name)
		if err != nil && !errors.Is(err, platform.ErrNotExist) {
			return o, err
		}
		if n, perr := strconv.Atoi(strings.TrimSpace(s)); perr == nil && n > 0 {
			o.Build, o.Known = n, true
			break
		}
	}
	for _, v := range []struct {
		name string
		dst  *int
	}{{"CurrentMajorVersionNumber", &o.Major}, {"CurrentMinorVersionNumber", &o.Minor}} {
		n, err := reg.GetDWORD(platform.LocalMachine, platform.View64, CurrentVersionKey, v.name)
		if err == nil {
			*v.dst = int(n)
		} else if !errors.Is(err, platform.ErrNotExist) && !errors.Is(err, platform.ErrUnexpectedType) {
			return o, err
		}
	}
	ok, err := reg.KeyExists(platform.LocalMachine, platform.View64, `SOFTWARE\Wow6432Node`)
	if err != nil {
		return o, err
	}
	o.Is64Bit = ok
	return o, nil
}

// Side is the client or server half of an SChannel protocol key.
type Side string

// SChannel sides.
const (
	Client Side = "Client"
	Server Side = "Server"
)

// Sides lists both, client first.
var Sides = [...]Side{Client, Server}

// Default is the OS default for one protocol and side when no value is set.
type Default struct {
	Supported bool // the OS can negotiate the protocol at all
	// Enabled is the default of the Enabled value: usable when an
	// application asks for the protocol explicitly.
	Enabled bool
	// DisabledByDefault is the default of DisabledByDefault: not used when
	// the application asks for the system default.
	DisabledByDefault bool
}

var (
	defOn    = Default{Supported: true, Enabled: true}
	defOff   = Default{Supported: true, Enabled: true, DisabledByDefault: true}
	defNone  = Default{}
	defRemvd = Default{}
)

// Defaults returns the OS default for protocol p on side s
// (reference/windows.md §1.4, from Microsoft's "Protocols in TLS/SSL
// (Schannel SSP)" table). Windows 7's TLS 1.1/1.2 are "supported but not
// enabled by default": an application that asks for them explicitly (for
// example .NET with SecurityProtocol = Tls12) gets them, the system default
// does not.
func Defaults(r Release, p audit.Protocol, s Side) Default {
	if r == ReleaseUnknown {
		// Assume a current Windows 10 / Server 2019: the most common
		// release, and one whose defaults still allow TLS 1.0/1.1.
		r = ReleaseWin10v1607
	}
	switch p {
	case audit.SSLv2:
		switch {
		case r >= ReleaseWin10v1607:
			return defRemvd // removed in 1607 / Server 2016
		case r == ReleaseVista || r == Release2008SP2:
			return defOn
		case s == Client:
			return defOff // Windows 7 on: client disabled, server enabled
		default:
			return defOn
		}
	case audit.SSLv3:
		if r >= ReleaseWin10v1607 {
			return defOff
		}
		return defOn
	case audit.TLS10:
		return defOn
	case audit.TLS11, audit.TLS12:
		switch r {
		case ReleaseVista:
			return defNone
		case Release2008SP2, ReleaseWin7:
			return defOff
		}
		return defOn
	case audit.TLS13:
		if r == ReleaseTLS13 {
			return defOn
		}
		return defNone
	}
	return defNone
}
