// Package audit holds the vocabulary every tlsfloor scanner shares: protocols
// and protocol sets, severities, the rule catalog, findings and the versioned
// report. It decides nothing about any particular server; the scanners in its
// sub-packages (nginx, apache, openssl, schannel) do that and return values of
// these types. It must not import cmd/ or remediate/.
package audit

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
)

// Protocol is one SSL/TLS protocol version, ordered from oldest to newest.
type Protocol uint8

// The protocols tlsfloor knows, oldest first.
const (
	SSLv2 Protocol = iota
	SSLv3
	TLS10
	TLS11
	TLS12
	TLS13
	numProtocols
)

// AllProtocols lists every protocol, oldest first.
var AllProtocols = [...]Protocol{SSLv2, SSLv3, TLS10, TLS11, TLS12, TLS13}

var canonicalNames = [...]string{"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

// String returns the canonical report spelling: SSLv2, SSLv3, TLSv1.0 ... TLSv1.3.
func (p Protocol) String() string {
	if p < numProtocols {
		return canonicalNames[p]
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// protocolKey lower-cases s (ASCII) and drops white space and dashes, with "_" read as
// ".": "TLS 1.2", "tls-1_2" and "TLSv1.2" become "tls1.2" and "tlsv1.2". A
// loop, not a strings.Replacer: ParseProtocol runs for every protocol
// token of every config file, and building a Replacer per call cost more
// than the rest of the parse.
func protocolKey(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '-':
		case c == '_':
			b = append(b, '.')
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// ParseProtocol accepts the spellings used by nginx (TLSv1), Apache (TLSv1.1),
// SChannel ("TLS 1.2"), the report (TLSv1.0) and plain version numbers (1.2),
// case-insensitively.
func ParseProtocol(s string) (Protocol, bool) {
	switch k := protocolKey(s); k {
	case "sslv2", "ssl2", "ssl2.0", "sslv2.0":
		return SSLv2, true
	case "sslv3", "ssl3", "ssl3.0", "sslv3.0":
		return SSLv3, true
	case "tlsv1", "tlsv1.0", "tls1", "tls1.0", "1.0", "tls10":
		return TLS10, true
	case "tlsv1.1", "tls1.1", "1.1", "tls11":
		return TLS11, true
	case "tlsv1.2", "tls1.2", "1.2", "tls12":
		return TLS12, true
	case "tlsv1.3", "tls1.3", "1.3", "tls13":
		return TLS13, true
	}
	return 0, false
}

// NginxName is the token nginx uses in ssl_protocols.
func (p Protocol) NginxName() string {
	if p == TLS10 {
		return "TLSv1"
	}
	return p.String()
}

// ApacheName is the keyword mod_ssl uses in SSLProtocol.
func (p Protocol) ApacheName() string { return p.NginxName() }

// ProtocolSet is a set of protocols. The zero value is the empty set; all
// methods are value methods so sets can be passed around freely.
type ProtocolSet uint8

// Set builds a set from its members.
func Set(ps ...Protocol) ProtocolSet {
	var s ProtocolSet
	for _, p := range ps {
		s = s.With(p)
	}
	return s
}

// Legacy is every protocol older than TLS 1.2.
var Legacy = Set(SSLv2, SSLv3, TLS10, TLS11)

// Has reports whether p is in the set.
func (s ProtocolSet) Has(p Protocol) bool { return p < numProtocols && s&(1<<p) != 0 }

// With returns the set plus p.
func (s ProtocolSet) With(p Protocol) ProtocolSet {
	if p >= numProtocols {
		return s
	}
	return s | 1<<p
}

// Without returns the set minus p.
func (s ProtocolSet) Without(p Protocol) ProtocolSet { return s &^ (1 << p) }

// Union returns s ∪ o.
func (s ProtocolSet) Union(o ProtocolSet) ProtocolSet { return s | o }

// Intersect returns s ∩ o.
func (s ProtocolSet) Intersect(o ProtocolSet) ProtocolSet { return s & o }

// Minus returns s \ o.
func (s ProtocolSet) Minus(o ProtocolSet) ProtocolSet { return s &^ o }

// Empty reports whether the set has no members.
func (s ProtocolSet) Empty() bool { return s == 0 }

// Len is the number of members.
func (s ProtocolSet) Len() int { return bits.OnesCount8(uint8(s)) }

// Below returns the members older than floor.
func (s ProtocolSet) Below(floor Protocol) ProtocolSet { return s & (1<<floor - 1) }

// AtLeast returns the members at floor or newer.
func (s ProtocolSet) AtLeast(floor Protocol) ProtocolSet { return s &^ (1<<floor - 1) }

// Min returns the oldest member; ok is false for the empty set.
func (s ProtocolSet) Min() (Protocol, bool) {
	if s == 0 {
		return 0, false
	}
	return Protocol(bits.TrailingZeros8(uint8(s))), true
}

// Max returns the newest member; ok is false for the empty set.
func (s ProtocolSet) Max() (Protocol, bool) {
	if s == 0 {
		return 0, false
	}
	return Protocol(7 - bits.LeadingZeros8(uint8(s))), true
}

// List returns the members, oldest first.
func (s ProtocolSet) List() []Protocol {
	out := make([]Protocol, 0, s.Len())
	for _, p := range AllProtocols {
		if s.Has(p) {
			out = append(out, p)
		}
	}
	return out
}

// Strings returns the canonical names of the members, oldest first. It never
// returns nil, so JSON shows [] for the empty set.
func (s ProtocolSet) Strings() []string {
	out := []string{}
	for _, p := range s.List() {
		out = append(out, p.String())
	}
	return out
}

// String joins the canonical names with spaces; the empty set prints "none".
func (s ProtocolSet) String() string {
	if s == 0 {
		return "none"
	}
	return strings.Join(s.Strings(), " ")
}

// MarshalJSON renders the set as a list of canonical names.
func (s ProtocolSet) MarshalJSON() ([]byte, error) { return json.Marshal(s.Strings()) }

// UnmarshalJSON reads a list of protocol names in any accepted spelling.
func (s *ProtocolSet) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	var out ProtocolSet
	for _, n := range names {
		p, ok := ParseProtocol(n)
		if !ok {
			return fmt.Errorf("unknown protocol %q", n)
		}
		out = out.With(p)
	}
	*s = out
	return nil
}

// ParseProtocolSet parses a space- or comma-separated list of protocol names.
func ParseProtocolSet(s string) (ProtocolSet, error) {
	var out ProtocolSet
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		p, ok := ParseProtocol(f)
		if !ok {
			return 0, fmt.Errorf("unknown protocol %q", f)
		}
		out = out.With(p)
	}
	return out, nil
}
