package platform

import (
	"context"
	"fmt"
	"time"
)

// TLSVersion is a protocol version as it appears on the wire: 0x0002 for
// SSLv2, 0x0300 for SSLv3, 0x0301 to 0x0304 for TLS 1.0 to 1.3. Its String
// is the audit report's canonical spelling, so audit.ParseProtocol reads it
// back without platform having to import audit.
type TLSVersion uint16

// The versions a Prober knows, oldest first.
const (
	VersionSSL20 TLSVersion = 0x0002
	VersionSSL30 TLSVersion = 0x0300
	VersionTLS10 TLSVersion = 0x0301
	VersionTLS11 TLSVersion = 0x0302
	VersionTLS12 TLSVersion = 0x0303
	VersionTLS13 TLSVersion = 0x0304
)

// ProbeVersions returns every version a probe tries, oldest first.
func ProbeVersions() []TLSVersion {
	return []TLSVersion{VersionSSL20, VersionSSL30, VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13}
}

func (v TLSVersion) String() string {
	switch v {
	case VersionSSL20:
		return "SSLv2"
	case VersionSSL30:
		return "SSLv3"
	case VersionTLS10:
		return "TLSv1.0"
	case VersionTLS11:
		return "TLSv1.1"
	case VersionTLS12:
		return "TLSv1.2"
	case VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", uint16(v))
}

// Legacy reports whether v is older than TLS 1.2.
func (v TLSVersion) Legacy() bool { return v < VersionTLS12 }

// ProbeRequest says what to probe and how.
type ProbeRequest struct {
	// Address is host:port with a literal IP or a name (resolved with the
	// system resolver by the production prober).
	Address string
	// ServerName is sent as SNI; empty sends none. Never an IP literal.
	ServerName string
	// StartTLS is "", "smtp", "imap", "pop3" or "ftp".
	StartTLS string
	// Timeout bounds each connection (dial, preamble and handshake).
	Timeout time.Duration
	// Versions limits the probe to these versions; empty means all.
	Versions []TLSVersion
	// Ciphers asks for every accepted suite per accepted version.
	Ciphers bool
	// Certificate asks for the server certificate's subject and expiry.
	Certificate bool
}

// VersionResult is the verdict for one protocol version.
type VersionResult struct {
	Version  TLSVersion
	Accepted bool
	// Cipher is the IANA name of the suite the server picked.
	Cipher string
	// TLSAnswer is true when the server answered in TLS (a hello or an
	// alert): proof the peer speaks TLS even when it refused.
	TLSAnswer bool
	// Error says why the version is not accepted (an alert name, a close,
	// a timeout), or what went wrong; empty when accepted.
	Error string
	// ServerOrder is "server" when the server imposes its own suite order,
	// "client" when it follows ours, "" when unknown (fewer than two suites
	// or no cipher enumeration).
	ServerOrder string
}

// CipherResult is one accepted suite.
type CipherResult struct {
	Version TLSVersion
	Code    uint16 // IANA code point (SSLv2 kinds are reported in the low 16 bits)
	Name    string // IANA name
	Grade   string // strong, weak or insecure
	Reason  string // why weak or insecure
}

// CertInfo is what the probe learned about the server certificate.
type CertInfo struct {
	Subject  string
	NotAfter time.Time
}

// ProbeResult is the outcome of probing one address.
type ProbeResult struct {
	Address     string // the address actually dialled
	Versions    []VersionResult
	Ciphers     []CipherResult
	Certificate *CertInfo
	Elapsed     time.Duration
	// Error is set when the target could not be reached or does not speak
	// TLS at all; Versions then carries the per-version details.
	Error string
}

// Accepted returns the accepted versions, oldest first.
func (r ProbeResult) Accepted() []TLSVersion {
	var out []TLSVersion
	for _, v := range r.Versions {
		if v.Accepted {
			out = append(out, v.Version)
		}
	}
	return out
}

// Prober performs live handshakes. The production implementation is
// platform/probe; platformtest.Prober is the fake.
type Prober interface {
	// Probe probes one address. An error means the request itself was
	// unusable (a malformed address, an unknown STARTTLS protocol);
	// unreachable and non-TLS peers are reported in ProbeResult.Error.
	Probe(ctx context.Context, req ProbeRequest) (ProbeResult, error)
}
