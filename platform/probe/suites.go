package probe

import (
	"fmt"
	"slices"
	"sort"

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
