package remediate

import (
	"fmt"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
)

// TLS13Mode says when a fix writes TLS 1.3.
type TLS13Mode string

// TLS 1.3 modes (the --tls13 flag).
const (
	TLS13Auto TLS13Mode = "auto" // where the server version and its library support it
	TLS13On   TLS13Mode = "on"   // always; the server's config test decides
	TLS13Off  TLS13Mode = "off"  // never (TLS 1.2 only)
)

// Policy is what a fix writes.
type Policy struct {
	// Min is the oldest protocol kept: TLS12 (default) or TLS13.
	Min   audit.Protocol
	TLS13 TLS13Mode
}

// DefaultPolicy is TLS 1.2, plus TLS 1.3 where supported.
func DefaultPolicy() Policy { return Policy{Min: audit.TLS12, TLS13: TLS13Auto} }

// Support is what a server can do with TLS 1.3, as far as the audit knows.
type Support struct {
	// TLS13 is true when both the server version and its TLS library
	// support TLS 1.3.
	TLS13 bool
	// Why explains a false TLS13 ("nginx 1.12.0 is older than 1.13.0").
	Why string
}

// Target returns the protocol set to write and, when TLS 1.3 is left out
// or forced, a note saying why. It fails when the policy cannot be met
// (TLS 1.3 only on a server that cannot do TLS 1.3, unless --tls13 on).
func (p Policy) Target(s Support) (audit.ProtocolSet, string, error) {
	min := p.Min
	if min < audit.TLS12 {
		min = audit.TLS12
	}
	switch {
	case min >= audit.TLS13:
		if !s.TLS13 && p.TLS13 != TLS13On {
			return 0, "", fmt.Errorf("--min-version 1.3 needs TLS 1.3, but %s (use --tls13 on to write it anyway)", s.Why)
		}
		return audit.Set(audit.TLS13), "", nil
	case p.TLS13 == TLS13Off:
		return audit.Set(audit.TLS12), "", nil
	case p.TLS13 == TLS13On:
		note := ""
		if !s.TLS13 {
			note = fmt.Sprintf("TLSv1.3 written because of --tls13 on, although %s; the config test decides", s.Why)
		}
		return audit.Set(audit.TLS12, audit.TLS13), note, nil
	case s.TLS13:
		return audit.Set(audit.TLS12, audit.TLS13), "", nil
	default:
		return audit.Set(audit.TLS12), fmt.Sprintf("TLSv1.3 not written: %s (--tls13 on forces it)", s.Why), nil
	}
}

// NginxArgs spells a set for ssl_protocols and its proxy variants:
// "TLSv1.2 TLSv1.3".
func NginxArgs(s audit.ProtocolSet) []string {
	var out []string
	for _, p := range s.List() {
		out = append(out, p.NginxName())
	}
	return out
}

// ApacheArgs spells a set for SSLProtocol and SSLProxyProtocol:
// "-all +TLSv1.2 +TLSv1.3". Starting from -all makes the value independent
// of the built-in default and of inherited values.
func ApacheArgs(s audit.ProtocolSet) []string {
	out := []string{"-all"}
	for _, p := range s.List() {
		out = append(out, "+"+p.ApacheName())
	}
	return out
}

// Join is the arguments as written: separated by single spaces.
func Join(args []string) string { return strings.Join(args, " ") }

// JoinQuoted joins the arguments with single spaces, each wrapped in quote
// when quote is not 0: a rewritten directive keeps the quoting style of the
// one it replaces.
func JoinQuoted(args []string, quote byte) string {
	if quote == 0 {
		return Join(args)
	}
	words := make([]string, len(args))
	for i, a := range args {
		words[i] = string(quote) + a + string(quote)
	}
	return Join(words)
}
