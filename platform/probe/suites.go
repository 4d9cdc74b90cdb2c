package probe

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Grades of a cipher suite, from best to worst.
const (
	GradeStrong   = "strong"
	GradeWeak     = "weak"
	GradeInsecure = "insecure"
)

// Suite is a TLS cipher suite with the properties its grade comes from.
type Suite struct {
	Code uint16
	Name string // IANA name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	// Kx is the key exchange: RSA, DH (static), DHE, ECDH (static), ECDHE,
	// PSK, SRP, or "any" for TLS 1.3 suites.
	Kx string
	// Auth is the authentication: RSA, DSS, ECDSA, PSK, SRP, anon, or "any".
	Auth string
	// Enc is the bulk cipher with its mode, e.g. AES_128_GCM, 3DES_EDE_CBC.
	Enc string
	// MAC is the HMAC hash (MD5, SHA, SHA256, SHA384) or AEAD.
	MAC    string
	Export bool
	// MinVersion is the oldest protocol that can negotiate the suite.
	MinVersion platform.TLSVersion
	// TLS13 marks the TLS 1.3 suites, which only TLS 1.3 can negotiate.
	TLS13  bool
	Grade  string
	Reason string
}

// LookupSuite returns the suite with IANA code point code.
func LookupSuite(code uint16) (Suite, bool) {
	all := parsedSuites()
	i := sort.Search(len(all), func(i int) bool { return all[i].Code >= code })
	if i < len(all) && all[i].Code == code {
		return all[i], true
	}
	return Suite{}, false
}

// parsedSuites is the table with its derived columns (see suiteTable).
func parsedSuites() []Suite { return suiteTable[:] }

// SuiteName returns the IANA name of code, or its hex form if unknown.
func SuiteName(code uint16) string {
	if s, ok := LookupSuite(code); ok {
		return s.Name
	}
	return fmt.Sprintf("0x%04X", code)
}

// Suites returns the whole table, ordered by code point.
func Suites() []Suite {
	return slices.Clone(parsedSuites())
}

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

// sslv2Kinds are the SSLv2 CIPHER-KINDs (3 bytes each, RFC draft
// "The SSL Protocol" 1995, appendix A).
var sslv2Kinds = [...]struct {
	code uint32
	name string
}{
	{0x010080, "SSL_CK_RC4_128_WITH_MD5"},
	{0x020080, "SSL_CK_RC4_128_EXPORT40_WITH_MD5"},
	{0x030080, "SSL_CK_RC2_128_CBC_WITH_MD5"},
	{0x040080, "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5"},
	{0x050080, "SSL_CK_IDEA_128_CBC_WITH_MD5"},
	{0x060040, "SSL_CK_DES_64_CBC_WITH_MD5"},
	{0x0700C0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"},
}

func sslv2Name(code uint32) string {
	for _, k := range sslv2Kinds {
		if k.code == code {
			return k.name
		}
	}
	return fmt.Sprintf("SSL2_0x%06X", code)
}
