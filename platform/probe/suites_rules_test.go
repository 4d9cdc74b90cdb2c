package probe

import (
	"slices"
	"strings"

	"github.com/tlsfloor/tlsfloor/platform"
)

// The rules that derive a suite's columns from its IANA name (parseSuite,
// grade) and the order in which hellos offer suites (rankSuites). Their
// results are stored in suites_table.go, so that a probe starts without
// running them; TestSuiteTableDerived keeps the two in step and rewrites
// the table with -update.

// kxAuth maps the part of an IANA name between TLS_ and _WITH_ (without any
// EXPORT marker) to key exchange and authentication.
func kxAuth(left string) (kx, auth string) {
	switch left {
	case "RSA":
		return "RSA", "RSA"
	case "DH_DSS":
		return "DH", "DSS"
	case "DH_RSA":
		return "DH", "RSA"
	case "DHE_DSS":
		return "DHE", "DSS"
	case "DHE_RSA":
		return "DHE", "RSA"
	case "DH_anon":
		return "DHE", "anon"
	case "ECDH_ECDSA":
		return "ECDH", "ECDSA"
	case "ECDH_RSA":
		return "ECDH", "RSA"
	case "ECDHE_ECDSA":
		return "ECDHE", "ECDSA"
	case "ECDHE_RSA":
		return "ECDHE", "RSA"
	case "ECDH_anon":
		return "ECDHE", "anon"
	case "PSK":
		return "PSK", "PSK"
	case "DHE_PSK":
		return "DHE", "PSK"
	case "PSK_DHE":
		return "DHE", "PSK"
	case "RSA_PSK":
		return "RSA", "PSK"
	case "ECDHE_PSK":
		return "ECDHE", "PSK"
	case "SRP_SHA":
		return "SRP", "SRP"
	case "SRP_SHA_RSA":
		return "SRP", "RSA"
	case "SRP_SHA_DSS":
		return "SRP", "DSS"
	}
	return left, left
}

// parseSuite derives a suite's properties from its IANA name, which encodes
// them: TLS_<kx>_<auth>[_EXPORT]_WITH_<cipher>_<mac>, or TLS_<aead>_<hash>
// for TLS 1.3.
func parseSuite(code uint16, name string) Suite {
	s := Suite{Code: code, Name: name, MinVersion: platform.VersionSSL30}
	rest := strings.TrimPrefix(name, "TLS_")
	left, right, ok := strings.Cut(rest, "_WITH_")
	if !ok {
		s.TLS13 = true
		s.Kx, s.Auth, s.MAC = "any", "any", "AEAD"
		s.Enc = rest[:strings.LastIndex(rest, "_")]
		s.MinVersion = platform.VersionTLS13
	} else {
		if i := strings.Index(left, "_EXPORT"); i >= 0 {
			s.Export = true
			left = left[:i]
		}
		s.Kx, s.Auth = kxAuth(left)
		s.Enc = right
		switch {
		case strings.Contains(right, "_GCM") || strings.Contains(right, "_CCM") || strings.Contains(right, "POLY1305"):
			s.MAC = "AEAD"
			// Drop a trailing PRF hash (GCM_SHA256); CCM names carry none.
			if i := strings.LastIndex(right, "_SHA"); i >= 0 {
				s.Enc = right[:i]
			}
			s.MinVersion = platform.VersionTLS12
		default:
			i := strings.LastIndex(right, "_")
			s.Enc, s.MAC = right[:i], right[i+1:]
			if s.MAC == "SHA256" || s.MAC == "SHA384" {
				s.MinVersion = platform.VersionTLS12
			}
		}
	}
	s.Grade, s.Reason = grade(s)
	return s
}

// grade rates a suite by its weakest part, in the spirit of the SSL Labs
// and Mozilla guidelines: anything an attacker can break or read is
// insecure; anything merely dated (no forward secrecy, 64-bit blocks, CBC
// with its padding-oracle history) is weak. Every reason of the worst level
// is listed.
func grade(s Suite) (string, string) {
	var insecure, weak []string
	enc := s.Enc
	switch {
	case strings.HasPrefix(enc, "NULL"):
		insecure = append(insecure, "no encryption (NULL cipher)")
	case strings.HasPrefix(enc, "RC4"):
		insecure = append(insecure, "RC4")
	case strings.HasPrefix(enc, "RC2"):
		insecure = append(insecure, "RC2")
	case strings.HasPrefix(enc, "DES40") || strings.HasPrefix(enc, "DES_"):
		insecure = append(insecure, "single DES (56-bit or less)")
	}
	if s.Auth == "anon" {
		insecure = append(insecure, "anonymous key exchange")
	}
	if s.Export {
		insecure = append(insecure, "export-grade")
	}
	if s.MAC == "MD5" {
		insecure = append(insecure, "MD5 MAC")
	}
	if len(insecure) > 0 {
		return GradeInsecure, strings.Join(insecure, ", ")
	}
	switch {
	case strings.HasPrefix(enc, "3DES"):
		weak = append(weak, "3DES 64-bit block")
	case strings.HasPrefix(enc, "IDEA"):
		weak = append(weak, "IDEA 64-bit block")
	}
	switch s.Kx {
	case "RSA", "DH", "ECDH", "PSK":
		weak = append(weak, "no forward secrecy")
	}
	if strings.HasSuffix(enc, "_CBC") {
		if s.MAC == "SHA" {
			weak = append(weak, "CBC with SHA-1")
		} else {
			weak = append(weak, "CBC mode (no AEAD)")
		}
	}
	if strings.HasSuffix(enc, "CCM_8") {
		weak = append(weak, "64-bit authentication tag (CCM_8)")
	}
	if len(weak) > 0 {
		return GradeWeak, strings.Join(weak, ", ")
	}
	return GradeStrong, ""
}

// rankSuites computes offerOrder's ranking from the suite table.
func rankSuites(v platform.TLSVersion) []uint16 { return rankSuitesFrom(parsedSuites(), v) }

func rankSuitesFrom(suites []Suite, v platform.TLSVersion) []uint16 {
	type ranked struct {
		code uint16
		rank int
	}
	var rs []ranked
	for _, s := range suites {
		if v == platform.VersionTLS13 && !s.TLS13 || v != platform.VersionTLS13 && (s.TLS13 || s.MinVersion > v) {
			continue
		}
		r := 0
		switch s.Grade {
		case GradeWeak:
			r = 10
		case GradeInsecure:
			r = 20
		}
		switch s.Kx {
		case "ECDHE", "any":
		case "DHE":
			r++
		default:
			r += 2
		}
		rs = append(rs, ranked{s.Code, r})
	}
	// Typed, not sort.SliceStable: its reflection-based swaps were most of
	// the cost of the first probe's ranking.
	slices.SortStableFunc(rs, func(a, b ranked) int { return a.rank - b.rank })
	codes := make([]uint16, len(rs))
	for i, r := range rs {
		codes[i] = r.code
	}
	return codes
}
