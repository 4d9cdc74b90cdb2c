package schannel

import (
	"fmt"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// ProtocolsKey is the parent of the per-protocol SChannel keys. HKLM\SYSTEM
// is shared by both WOW64 views, so one write covers 32- and 64-bit programs.
const ProtocolsKey = `SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols`

// SChannel value names.
const (
	ValueEnabled           = "Enabled"
	ValueDisabledByDefault = "DisabledByDefault"
)

// .NET Framework keys and values.
const (
	DotNet4Key                    = `SOFTWARE\Microsoft\.NETFramework\v4.0.30319`
	DotNet2Key                    = `SOFTWARE\Microsoft\.NETFramework\v2.0.50727`
	ValueSchUseStrongCrypto       = "SchUseStrongCrypto"
	ValueSystemDefaultTLSVersions = "SystemDefaultTlsVersions"
)

// WinHTTP and WinINet keys and values.
const (
	WinHTTPKey                  = `SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp`
	ValueDefaultSecureProtocols = "DefaultSecureProtocols"
	InternetSettingsKey         = `SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings`
	InternetSettingsPolicyKey   = `SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings`
	ValueSecureProtocols        = "SecureProtocols"
)

// ProtocolKeyName is the SChannel subkey for p: "SSL 3.0", "TLS 1.2".
func ProtocolKeyName(p audit.Protocol) string {
	switch p {
	case audit.SSLv2:
		return "SSL 2.0"
	case audit.SSLv3:
		return "SSL 3.0"
	case audit.TLS10:
		return "TLS 1.0"
	case audit.TLS11:
		return "TLS 1.1"
	case audit.TLS12:
		return "TLS 1.2"
	case audit.TLS13:
		return "TLS 1.3"
	}
	return p.String()
}

// SideKey is the key holding Enabled/DisabledByDefault for p on side s.
func SideKey(p audit.Protocol, s Side) string {
	return ProtocolsKey + `\` + ProtocolKeyName(p) + `\` + string(s)
}

// Location is one registry key in one view.
type Location struct {
	Root platform.Root
	View platform.View
	Key  string
	// Label names the location for people: ".NET 4.x (32-bit)".
	Label string
}

// Path spells the key for reports, e.g. HKLM\SOFTWARE\Wow6432Node\...
func (l Location) Path() string { return platform.KeyPath(l.Root, l.View, l.Key) }

// DotNetLocations are the .NET Framework keys to check: v4 and v2, in the
// native view and, on 64-bit Windows, the 32-bit view (Wow6432Node).
func DotNetLocations(o OSInfo) []Location {
	out := []Location{
		{platform.LocalMachine, platform.View64, DotNet4Key, ".NET Framework 4.x"},
		{platform.LocalMachine, platform.View64, DotNet2Key, ".NET Framework 3.5/2.0"},
	}
	if o.Is64Bit {
		out = append(out,
			Location{platform.LocalMachine, platform.View32, DotNet4Key, ".NET Framework 4.x (32-bit)"},
			Location{platform.LocalMachine, platform.View32, DotNet2Key, ".NET Framework 3.5/2.0 (32-bit)"})
	}
	return out
}

// WinHTTPLocations are the WinHTTP keys: native and, on 64-bit Windows, the
// 32-bit view. Microsoft's KB3140245 asks for both.
func WinHTTPLocations(o OSInfo) []Location {
	out := []Location{{platform.LocalMachine, platform.View64, WinHTTPKey, "WinHTTP"}}
	if o.Is64Bit {
		out = append(out, Location{platform.LocalMachine, platform.View32, WinHTTPKey, "WinHTTP (32-bit)"})
	}
	return out
}

// The WinINet locations, in precedence order (reference/windows.md §4: a
// set policy beats the user's checkboxes; the order between the two policy
// keys and between HKCU and HKLM is Microsoft's in part only).

// WinINetMachinePolicy is the Group Policy value for the machine.
func WinINetMachinePolicy() Location {
	return Location{platform.LocalMachine, platform.View64, InternetSettingsPolicyKey, "Internet Options machine policy"}
}

// WinINetUserPolicy is the Group Policy value for the current user.
func WinINetUserPolicy() Location {
	return Location{platform.CurrentUser, platform.View64, InternetSettingsPolicyKey, "Internet Options user policy"}
}

// WinINetUser is the current user's Internet Options checkboxes.
func WinINetUser() Location {
	return Location{platform.CurrentUser, platform.View64, InternetSettingsKey, "Internet Options (current user)"}
}

// WinINetMachine is the machine-wide value for users without their own.
func WinINetMachine() Location {
	return Location{platform.LocalMachine, platform.View64, InternetSettingsKey, "Internet Options (machine)"}
}

// WinINetLocations lists the four in precedence order, strongest first.
func WinINetLocations() []Location {
	return []Location{WinINetMachinePolicy(), WinINetUserPolicy(), WinINetUser(), WinINetMachine()}
}

// Protocol bits of WinHTTP's DefaultSecureProtocols and WinINet's
// SecureProtocols (the SP_PROT_*_CLIENT values).
const (
	BitSSL2  uint32 = 0x8
	BitSSL3  uint32 = 0x20
	BitTLS10 uint32 = 0x80
	BitTLS11 uint32 = 0x200
	BitTLS12 uint32 = 0x800
	BitTLS13 uint32 = 0x2000
)

var protocolBits = [...]uint32{BitSSL2, BitSSL3, BitTLS10, BitTLS11, BitTLS12, BitTLS13}

// MaskProtocols decodes a protocol mask; unknown are the bits it does not know.
func MaskProtocols(m uint32) (set audit.ProtocolSet, unknown uint32) {
	for i, b := range protocolBits {
		if m&b != 0 {
			set = set.With(audit.AllProtocols[i])
			m &^= b
		}
	}
	return set, m
}

// ProtocolMask encodes a protocol set.
func ProtocolMask(s audit.ProtocolSet) uint32 {
	var m uint32
	for _, p := range s.List() {
		m |= protocolBits[p]
	}
	return m
}

// FormatMask prints a mask as hex with its protocols: 0xa80 (TLSv1.0 TLSv1.1 TLSv1.2).
func FormatMask(m uint32) string {
	set, unknown := MaskProtocols(m)
	if unknown != 0 {
		return fmt.Sprintf("%#x (%s + unknown bits %#x)", m, set, unknown)
	}
	return fmt.Sprintf("%#x (%s)", m, set)
}

// WinHTTPDefault is the built-in DefaultSecureProtocols when the value is
// absent (reference/windows.md §3): SSL 3.0 + TLS 1.0 on Windows 7 and 8;
// SSL 3.0 to TLS 1.2 on 8.1 and 10 (before KB5017811, which removed TLS
// 1.0/1.1 on some Windows 10 builds and cannot be seen in the registry);
// TLS 1.2 + 1.3 where TLS 1.3 exists.
func WinHTTPDefault(r Release) uint32 {
	switch {
	case r == ReleaseTLS13:
		return BitTLS12 | BitTLS13
	case r >= ReleaseWin81 || r == ReleaseUnknown:
		return BitSSL3 | BitTLS10 | BitTLS11 | BitTLS12
	}
	return BitSSL3 | BitTLS10
}

// WinINetDefault is the Internet Options default when no SecureProtocols is
// set anywhere. Microsoft publishes no table; these are the IE-era values
// the reference collects (unverified): SSL 3.0 + TLS 1.0 before Windows 8,
// TLS 1.0 to 1.2 (IE11) after, TLS 1.2 + 1.3 where TLS 1.3 exists.
func WinINetDefault(r Release) uint32 {
	switch {
	case r == ReleaseTLS13:
		return BitTLS12 | BitTLS13
	case r >= ReleaseWin8 || r == ReleaseUnknown:
		return BitTLS10 | BitTLS11 | BitTLS12
	}
	return BitSSL3 | BitTLS10
}
