package probe

import (
	"context"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/platform/probe/clienthello"
)

// TestSuiteTableMatchesOpenSSL checks every code point and IANA name the
// local OpenSSL knows against our table, in both directions for the code
// points OpenSSL has: a typo in either column fails.
func TestSuiteTableMatchesOpenSSL(t *testing.T) {
	openssl := platformtest.RequireTool(t, "openssl")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, openssl, "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0").Output()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2})\s+-\s+(\S+)`)
	ms := re.FindAllSubmatch(out, -1)
	if len(ms) < 100 {
		t.Fatalf("only %d suites parsed from openssl ciphers -V:\n%s", len(ms), out)
	}
	for _, m := range ms {
		hi, _ := strconv.ParseUint(string(m[1]), 16, 8)
		lo, _ := strconv.ParseUint(string(m[2]), 16, 8)
		code := uint16(hi<<8 | lo)
		s, ok := LookupSuite(code)
		if !ok {
			t.Errorf("0x%04X %s: missing from our table", code, m[3])
			continue
		}
		if s.Name != string(m[3]) {
			t.Errorf("0x%04X: our name %s, OpenSSL's %s", code, s.Name, m[3])
		}
	}
}

func TestSuiteTableSortedUnique(t *testing.T) {
	seen := map[string]bool{}
	for i, e := range suiteTable {
		if i > 0 && suiteTable[i-1].Code >= e.Code {
			t.Errorf("table not strictly sorted at 0x%04X", e.Code)
		}
		if seen[e.Name] {
			t.Errorf("duplicate name %s", e.Name)
		}
		seen[e.Name] = true
	}
}

func TestParseSuite(t *testing.T) {
	tests := []struct {
		code               uint16
		kx, auth, enc, mac string
		min                platform.TLSVersion
		grade, reason      string
	}{
		{0xC02F, "ECDHE", "RSA", "AES_128_GCM", "AEAD", platform.VersionTLS12, GradeStrong, ""},
		{0x1301, "any", "any", "AES_128_GCM", "AEAD", platform.VersionTLS13, GradeStrong, ""},
		{0xCCA8, "ECDHE", "RSA", "CHACHA20_POLY1305", "AEAD", platform.VersionTLS12, GradeStrong, ""},
		{0xC0AC, "ECDHE", "ECDSA", "AES_128_CCM", "AEAD", platform.VersionTLS12, GradeStrong, ""},
		{0xC0AE, "ECDHE", "ECDSA", "AES_128_CCM_8", "AEAD", platform.VersionTLS12, GradeWeak, "64-bit authentication tag (CCM_8)"},
		{0x0003, "RSA", "RSA", "RC4_40", "MD5", platform.VersionSSL30, GradeInsecure, "RC4, export-grade, MD5 MAC"},
		{0x0005, "RSA", "RSA", "RC4_128", "SHA", platform.VersionSSL30, GradeInsecure, "RC4"},
		{0x000A, "RSA", "RSA", "3DES_EDE_CBC", "SHA", platform.VersionSSL30, GradeWeak, "3DES 64-bit block, no forward secrecy, CBC with SHA-1"},
		{0x0034, "DHE", "anon", "AES_128_CBC", "SHA", platform.VersionSSL30, GradeInsecure, "anonymous key exchange"},
		{0xC018, "ECDHE", "anon", "AES_128_CBC", "SHA", platform.VersionSSL30, GradeInsecure, "anonymous key exchange"},
		{0x0002, "RSA", "RSA", "NULL", "SHA", platform.VersionSSL30, GradeInsecure, "no encryption (NULL cipher)"},
		{0x0014, "DHE", "RSA", "DES40_CBC", "SHA", platform.VersionSSL30, GradeInsecure, "single DES (56-bit or less), export-grade"},
		{0x009C, "RSA", "RSA", "AES_128_GCM", "AEAD", platform.VersionTLS12, GradeWeak, "no forward secrecy"},
		{0xC013, "ECDHE", "RSA", "AES_128_CBC", "SHA", platform.VersionSSL30, GradeWeak, "CBC with SHA-1"},
		{0xC027, "ECDHE", "RSA", "AES_128_CBC", "SHA256", platform.VersionTLS12, GradeWeak, "CBC mode (no AEAD)"},
		{0x0045, "DHE", "RSA", "CAMELLIA_128_CBC", "SHA", platform.VersionSSL30, GradeWeak, "CBC with SHA-1"},
		{0xC061, "ECDHE", "RSA", "ARIA_256_GCM", "AEAD", platform.VersionTLS12, GradeStrong, ""},
		{0x00AA, "DHE", "PSK", "AES_128_GCM", "AEAD", platform.VersionTLS12, GradeStrong, ""},
		{0x00A8, "PSK", "PSK", "AES_128_GCM", "AEAD", platform.VersionTLS12, GradeWeak, "no forward secrecy"},
		{0xC0AA, "DHE", "PSK", "AES_128_CCM_8", "AEAD", platform.VersionTLS12, GradeWeak, "64-bit authentication tag (CCM_8)"},
		{0xC01E, "SRP", "RSA", "AES_128_CBC", "SHA", platform.VersionSSL30, GradeWeak, "CBC with SHA-1"},
	}
	for _, tt := range tests {
		s, ok := LookupSuite(tt.code)
		if !ok {
			t.Errorf("0x%04X not found", tt.code)
			continue
		}
		if s.Kx != tt.kx || s.Auth != tt.auth || s.Enc != tt.enc || s.MAC != tt.mac || s.MinVersion != tt.min || s.Grade != tt.grade || s.Reason != tt.reason {
			t.Errorf("%s = kx %s auth %s enc %s mac %s min %s %s %q; want %s %s %s %s %s %s %q", s.Name,
				s.Kx, s.Auth, s.Enc, s.MAC, s.MinVersion, s.Grade, s.Reason,
				tt.kx, tt.auth, tt.enc, tt.mac, tt.min, tt.grade, tt.reason)
		}
	}
}

// Every suite in the table must parse into known parts: an unknown key
// exchange means a name the parser does not understand.
func TestEverySuiteParses(t *testing.T) {
	known := map[string]bool{"RSA": true, "DH": true, "DHE": true, "ECDH": true, "ECDHE": true, "PSK": true, "SRP": true, "any": true}
	for _, s := range Suites() {
		if !known[s.Kx] || s.Enc == "" || s.MAC == "" || s.Grade == "" {
			t.Errorf("%s: kx %q enc %q mac %q grade %q", s.Name, s.Kx, s.Enc, s.MAC, s.Grade)
		}
		if s.Grade != GradeStrong && s.Reason == "" {
			t.Errorf("%s is %s without a reason", s.Name, s.Grade)
		}
	}
}

// sortByOffer puts a client-ordered version's suites into our offer order;
// codes our table does not know go last, in the order found.
func TestSortByOffer(t *testing.T) {
	order := offerOrder(platform.VersionTLS12)
	got := []uint16{0xFFF1, order[40], order[3], 0xFFF0, order[17], order[0]}
	sortByOffer(platform.VersionTLS12, got)
	want := []uint16{order[0], order[3], order[17], order[40], 0xFFF1, 0xFFF0}
	if !slices.Equal(got, want) {
		t.Errorf("sortByOffer = %#04x, want %#04x", got, want)
	}
}

// TestSSLv2KindsMatchTheHello: the names sslv2Name gives are for the kinds
// clienthello offers, in the same order.
func TestSSLv2KindsMatchTheHello(t *testing.T) {
	if len(sslv2Kinds) != len(clienthello.SSLv2CipherKinds) {
		t.Fatalf("%d names for %d kinds", len(sslv2Kinds), len(clienthello.SSLv2CipherKinds))
	}
	for i, k := range sslv2Kinds {
		if k.code != clienthello.SSLv2CipherKinds[i] {
			t.Errorf("kind %d: named %06X, offered %06X", i, k.code, clienthello.SSLv2CipherKinds[i])
		}
	}
}

// TestVersionsMatchTheHello: clienthello spells the protocol versions
// itself (importing platform would delay its initialisation).
func TestVersionsMatchTheHello(t *testing.T) {
	pairs := map[platform.TLSVersion]uint16{
		platform.VersionSSL20: clienthello.SSL20, platform.VersionSSL30: clienthello.SSL30,
		platform.VersionTLS10: clienthello.TLS10, platform.VersionTLS11: clienthello.TLS11,
		platform.VersionTLS12: clienthello.TLS12, platform.VersionTLS13: clienthello.TLS13,
	}
	for _, v := range platform.ProbeVersions() {
		if w, ok := pairs[v]; !ok || uint16(v) != w {
			t.Errorf("%s: clienthello has %04x", v, w)
		}
	}
}
