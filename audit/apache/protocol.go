package apache

import (
	"fmt"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// Caps is what the running httpd and its OpenSSL accept in SSLProtocol.
// Zero versions mean unknown; unknown counts as new (httpd 2.4.16+,
// OpenSSL 1.1.1+), and callers note that assumption.
type Caps struct {
	HTTPD   audit.ServerVersion
	Library openssl.Version
}

// SSLv3 is compiled out of OpenSSL 1.1.0 and later by default ("ssl3" is
// in the default-disabled list of Configure), so mod_ssl sees
// OPENSSL_NO_SSL3 there.
func (c Caps) hasSSLv3() bool {
	if !c.Library.Known() {
		return false
	}
	return c.Library.Flavor == openssl.FlavorOpenSSL && !c.Library.AtLeast("1.1.0")
}

func (c Caps) hasTLS12() bool { return !c.Library.Known() || c.Library.SupportsTLS12() }

// HasTLS13 reports whether SSLProtocol accepts TLSv1.3: httpd >= 2.4.36
// and OpenSSL >= 1.1.1.
func (c Caps) HasTLS13() bool {
	if c.HTTPD.Known() && !c.HTTPD.AtLeast("2.4.36") {
		return false
	}
	return !c.Library.Known() || c.Library.SupportsTLS13()
}

// All is what the keyword `all` means (ssl_private.h SSL_PROTOCOL_ALL).
func (c Caps) All() audit.ProtocolSet {
	s := audit.Set(audit.TLS10)
	if c.hasSSLv3() {
		s = s.With(audit.SSLv3)
	}
	if c.hasTLS12() {
		s = s.With(audit.TLS11).With(audit.TLS12)
	}
	if c.HasTLS13() {
		s = s.With(audit.TLS13)
	}
	return s
}

// Default is the set when no SSLProtocol applies: `all -SSLv3` from 2.4.16
// on (and when the version is unknown), `all` before.
func (c Caps) Default() audit.ProtocolSet {
	if c.HTTPD.Known() && !c.HTTPD.AtLeast("2.4.16") {
		return c.All()
	}
	return c.All().Without(audit.SSLv3)
}

// noHoles reports whether httpd configures OpenSSL with a min/max range
// (OpenSSL >= 1.1.0 and LibreSSL/BoringSSL), which cannot have holes.
func (c Caps) noHoles() bool {
	if !c.Library.Known() || c.Library.Flavor != openssl.FlavorOpenSSL {
		return true
	}
	return c.Library.AtLeast("1.1.0")
}

// ParseProtocol computes an SSLProtocol/SSLProxyProtocol value exactly as
// mod_ssl's ssl_cmd_protocol_parse does: start from the empty set; +X adds,
// -X removes, a bare X replaces the whole set; keywords case-insensitive.
// name is the directive name for messages ("SSLProtocol: Illegal protocol
// '#'").
func (c Caps) ParseProtocol(name string, args []string) (audit.ProtocolSet, error) {
	var set audit.ProtocolSet
	if len(args) == 0 {
		return 0, fmt.Errorf("%s takes one or more arguments", name)
	}
	for _, w := range args {
		action := byte(0)
		if w != "" && (w[0] == '+' || w[0] == '-') {
			action, w = w[0], w[1:]
		}
		var this audit.ProtocolSet
		switch strings.ToLower(w) {
		case "sslv2":
			if action == '-' {
				continue
			}
			return 0, fmt.Errorf("%s: SSLv2 is no longer supported", name)
		case "sslv3":
			if !c.hasSSLv3() && c.Library.Known() {
				if action == '-' {
					continue
				}
				return 0, fmt.Errorf("%s: SSLv3 not supported by this version of OpenSSL", name)
			}
			this = audit.Set(audit.SSLv3)
		case "tlsv1":
			this = audit.Set(audit.TLS10)
		case "tlsv1.1":
			if !c.hasTLS12() {
				return 0, fmt.Errorf("%s: Illegal protocol '%s'", name, w)
			}
			this = audit.Set(audit.TLS11)
		case "tlsv1.2":
			if !c.hasTLS12() {
				return 0, fmt.Errorf("%s: Illegal protocol '%s'", name, w)
			}
			this = audit.Set(audit.TLS12)
		case "tlsv1.3":
			if !c.HasTLS13() {
				return 0, fmt.Errorf("%s: Illegal protocol '%s' (needs httpd 2.4.36 or later and OpenSSL 1.1.1 or later)", name, w)
			}
			this = audit.Set(audit.TLS13)
		case "all":
			this = c.All()
		default:
			return 0, fmt.Errorf("%s: Illegal protocol '%s'", name, w)
		}
		switch action {
		case '-':
			set = set.Minus(this)
		case '+':
			set = set.Union(this)
		default:
			set = this
		}
	}
	return set, nil
}

// Effective is the range httpd really configures for set: with OpenSSL
// >= 1.1.0 the highest member is the maximum and the minimum is where a
// walk down from it first finds a gap ("we do not allow holes"); OpenSSL
// 1.0.x gets SSL_OP_NO_* flags and keeps the set as it is.
func (c Caps) Effective(set audit.ProtocolSet) audit.ProtocolSet {
	if !c.noHoles() {
		return set
	}
	max, ok := set.Max()
	if !ok {
		return 0
	}
	var out audit.ProtocolSet
	for p := int(max); p >= 0 && set.Has(audit.Protocol(p)); p-- {
		out = out.With(audit.Protocol(p))
	}
	return out
}
