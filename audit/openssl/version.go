// Package openssl finds and judges the TLS library a host and its servers
// use: it parses version strings of OpenSSL (0.9.x to 4.x, letter releases,
// -fips), LibreSSL, BoringSSL and AWS-LC, compares them correctly, reads the
// library a binary really links (ELF DT_NEEDED resolved like ld.so), and
// evaluates the openssl CLI and the system crypto policy (openssl.cnf,
// RHEL crypto-policies). hashicorp/go-version is used only behind the
// normaliser in this file: on its own it orders 1.0.1g before 1.0.1.
//
// It imports audit and platform only; it must not import cmd/ or remediate/.
package openssl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	goversion "github.com/hashicorp/go-version"
)

// Flavor is the library family.
type Flavor string

// Library families.
const (
	FlavorOpenSSL   Flavor = "OpenSSL"
	FlavorLibreSSL  Flavor = "LibreSSL"
	FlavorBoringSSL Flavor = "BoringSSL"
	FlavorAWSLC     Flavor = "AWS-LC"
)

// Version is a parsed TLS library version.
//
// BoringSSL and AWS-LC report the OpenSSL API level they imitate (1.1.1) in
// Major.Minor.Patch; AWS-LC's own release number, when the text has one, is
// in FlavorVersion.
type Version struct {
	Flavor  Flavor
	Major   int
	Minor   int
	Patch   int
	Letters string // OpenSSL letter release: "g" in 1.0.1g, "za" in 1.1.1za
	// Pre is a pre-release tag without its dash: "beta1" in 1.0.2-beta1,
	// "alpha17" in 3.0.0-alpha17, "pre9" in 1.1.1-pre9.
	Pre           string
	FIPS          bool
	FlavorVersion string // AWS-LC's own version ("1.20.0"), else ""
	Raw           string // the text it was parsed from, trimmed
}

// Numbers are capped at four digits: no real release is longer, and it keeps
// every conversion inside int without overflow checks.
const num = `(\d{1,4})\.(\d{1,4})\.(\d{1,4})`

// The regular expressions are compiled on first use, not at package init:
// init runs at every start of the binary, for commands such as probe that
// never parse a version too (see testdata/bench/probe.sh).
var (
	reOpenSSL = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i:openssl)[ /_-]?` + num + `([a-zA-Z]*)(?:-(alpha|beta|pre|dev)(\d{0,4}))?`)
	})
	reLibre  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`LibreSSL[ /]?` + num) })
	reBoring = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`BoringSSL`) })
	reAWSLC  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`AWS-LC(?: FIPS)?(?: ` + num + `)?`) })
	reBare   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^` + num + `([a-zA-Z]*)(?:-(alpha|beta|pre|dev)(\d{0,4}))?`)
	})
	reFIPS    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)(?:^|[-\s_])fips\b`) })
	reRuntime = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\((?:Library:|running with) `) })
)

// Parse reads a version out of text such as `openssl version` output
// ("OpenSSL 1.0.2k-fips  26 Jan 2017"), an nginx -V line, a string found
// inside libcrypto, or a bare "1.1.1w".
//
// When the text names both a build-time and a run-time library, as
// `openssl version` does with "(Library: …)" and nginx -V with
// "(running with …)", the run-time one wins: it is the code that handshakes.
func Parse(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	if loc := reRuntime().FindStringIndex(raw); loc != nil {
		if v, err := parse(raw[loc[1]:]); err == nil {
			v.Raw = raw
			return v, nil
		}
	}
	v, err := parse(raw)
	if err != nil {
		return Version{}, err
	}
	v.Raw = raw
	return v, nil
}

func parse(raw string) (Version, error) {
	var v Version
	// BoringSSL and AWS-LC pretend to be "OpenSSL 1.1.1"; their own marker
	// decides, wherever it is.
	if loc := reBoring().FindStringIndex(raw); loc != nil {
		v.Flavor = FlavorBoringSSL
		v.Major, v.Minor, v.Patch = 1, 1, 1
		v.FIPS = fipsAfter(raw, loc[1])
		return v, nil
	}
	if m := reAWSLC().FindStringSubmatchIndex(raw); m != nil {
		v.Flavor = FlavorAWSLC
		v.Major, v.Minor, v.Patch = 1, 1, 1
		v.FIPS = strings.Contains(raw[m[0]:m[1]], "FIPS") || fipsAfter(raw, m[1])
		if m[2] >= 0 {
			if !numberEnds(raw, m[7]) {
				return Version{}, fmt.Errorf("not a TLS library version: %q", truncate(raw, 60))
			}
			v.FlavorVersion = raw[m[2]:m[3]] + "." + raw[m[4]:m[5]] + "." + raw[m[6]:m[7]]
			v.FlavorVersion = canonicalTriple(v.FlavorVersion)
		}
		return v, nil
	}
	// Otherwise the earliest plausible LibreSSL or OpenSSL mention wins.
	libre := reLibre().FindAllStringSubmatchIndex(raw, -1)
	ossl := reOpenSSL().FindAllStringSubmatchIndex(raw, -1)
	for len(libre) > 0 || len(ossl) > 0 {
		if len(libre) > 0 && (len(ossl) == 0 || libre[0][0] < ossl[0][0]) {
			m := libre[0]
			libre = libre[1:]
			if !numberEnds(raw, m[1]) {
				continue
			}
			v.Flavor = FlavorLibreSSL
			v.Major, v.Minor, v.Patch = atoi(raw[m[2]:m[3]]), atoi(raw[m[4]:m[5]]), atoi(raw[m[6]:m[7]])
			v.FIPS = fipsAfter(raw, m[1])
			return v, nil
		}
		m := ossl[0]
		ossl = ossl[1:]
		if got, ok := openSSLMatch(raw, m); ok {
			return got, nil
		}
	}
	if m := reBare().FindStringSubmatchIndex(raw); m != nil {
		if got, ok := openSSLMatch(raw, m); ok {
			return got, nil
		}
	}
	return Version{}, fmt.Errorf("not an OpenSSL, LibreSSL, BoringSSL or AWS-LC version: %q", truncate(raw, 60))
}

// openSSLMatch turns a reOpenSSL/reBare match into a version, or refuses it
// when the letters are not a letter release ("1.0.2abc", "3.0.1FOO") or the
// number runs on ("1.0.12345").
func openSSLMatch(raw string, m []int) (Version, bool) {
	letters := raw[m[8]:m[9]]
	end := m[9]
	if m[10] >= 0 {
		end = m[1]
		if !numberEnds(raw, end) {
			return Version{}, false
		}
	}
	if len(letters) > 2 || letters != strings.ToLower(letters) {
		return Version{}, false
	}
	if letters == "" && !numberEnds(raw, m[7]) {
		return Version{}, false
	}
	v := Version{Flavor: FlavorOpenSSL, Letters: letters}
	v.Major, v.Minor, v.Patch = atoi(raw[m[2]:m[3]]), atoi(raw[m[4]:m[5]]), atoi(raw[m[6]:m[7]])
	if m[10] >= 0 {
		v.Pre = raw[m[10]:m[11]] + canonicalNumber(raw[m[12]:m[13]])
	}
	v.FIPS = fipsAfter(raw, end)
	return v, true
}

// numberEnds reports whether the text at i does not continue a number: a
// version "1.0.2" must not be the start of "1.0.25" or "1.0.2.1".
func numberEnds(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	c := s[i]
	if c >= '0' && c <= '9' {
		return false
	}
	return !(c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9')
}

// fipsAfter reports whether the words right after a version mark it as a
// FIPS build ("1.0.2k-fips", "1.1.1k  FIPS 25 Mar 2021"). Only the rest of
// that version's phrase counts, so a later "(Library: …)" or configure
// argument cannot set it.
func fipsAfter(s string, i int) bool {
	tail := s[i:]
	if j := strings.IndexAny(tail, "(\n"); j >= 0 {
		tail = tail[:j]
	}
	if len(tail) > 40 {
		tail = tail[:40]
	}
	return reFIPS().MatchString(tail)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // at most four digits, matched by \d
	return n
}

func canonicalNumber(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Itoa(atoi(s))
}

func canonicalTriple(s string) string {
	parts := strings.Split(s, ".")
	for i := range parts {
		parts[i] = canonicalNumber(parts[i])
	}
	return strings.Join(parts, ".")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// letterNumber maps the letter release to a fourth version number: "" is 0,
// "a" 1 ... "z" 26, "za" 27, "zb" 28 and so on (shorter sorts first). This is
// linux-servers.md §6.3: n = 26*(len(s)-1) + (s[last]-'a'+1).
func letterNumber(s string) int {
	if s == "" {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return 0
		}
	}
	return 26*(len(s)-1) + int(s[len(s)-1]-'a'+1)
}

// Normalized returns the version as four plain numbers ("1.0.1.7" for
// 1.0.1g), plus a dotted pre-release ("3.0.0.0-alpha.17"): the only form
// handed to go-version. The dot makes go-version compare the pre-release
// number numerically (pre10 after pre9).
func (v Version) Normalized() string {
	s := fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Patch, letterNumber(v.Letters))
	if v.Pre != "" {
		tag := strings.TrimRight(v.Pre, "0123456789")
		if n := v.Pre[len(tag):]; n != "" {
			tag += "." + n
		}
		s += "-" + tag
	}
	return s
}

// Compare orders two versions of the same numbering (-1, 0, 1). LibreSSL
// numbers are not OpenSSL numbers: use Supports* for capability questions.
func (v Version) Compare(o Version) int {
	a, errA := goversion.NewVersion(v.Normalized())
	b, errB := goversion.NewVersion(o.Normalized())
	if errA != nil || errB != nil {
		// Normalized is always numbers go-version accepts; should that ever
		// change, fall back to the plain numeric order rather than panic.
		return compareInts(
			[]int{v.Major, v.Minor, v.Patch, letterNumber(v.Letters)},
			[]int{o.Major, o.Minor, o.Patch, letterNumber(o.Letters)})
	}
	return a.Compare(b)
}

func compareInts(a, b []int) int {
	for i := range a {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return 0
}

// AtLeast reports v >= s for an OpenSSL version constant such as "1.0.1g".
// A constant that does not parse gives false.
func (v Version) AtLeast(s string) bool {
	o, err := Parse(s)
	if err != nil {
		return false
	}
	return v.Compare(o) >= 0
}

// Equal reports whether two versions name the same release (Raw is ignored).
func (v Version) Equal(o Version) bool {
	v.Raw, o.Raw = "", ""
	return v == o
}

// Known reports whether the version is set.
func (v Version) Known() bool { return v.Flavor != "" }

// SupportsTLS12 reports whether the library can negotiate TLS 1.2.
func (v Version) SupportsTLS12() bool {
	switch v.Flavor {
	case FlavorLibreSSL, FlavorBoringSSL, FlavorAWSLC:
		return true
	}
	return v.AtLeast("1.0.1")
}

// SupportsTLS13 reports whether the library can negotiate TLS 1.3.
func (v Version) SupportsTLS13() bool {
	switch v.Flavor {
	case FlavorBoringSSL, FlavorAWSLC:
		return true
	case FlavorLibreSSL:
		// LibreSSL enabled TLS 1.3 by default in 3.1.0 (client and server 3.2.0).
		return v.Major > 3 || (v.Major == 3 && v.Minor >= 2)
	}
	return v.AtLeast("1.1.1")
}

// Heartbleed reports whether the version is 1.0.1 to 1.0.1f or 1.0.2-beta1
// (CVE-2014-0160).
func (v Version) Heartbleed() bool {
	if v.Flavor != FlavorOpenSSL || v.Major != 1 || v.Minor != 0 {
		return false
	}
	switch v.Patch {
	case 1:
		return v.AtLeast("1.0.1") && !v.AtLeast("1.0.1g")
	case 2:
		return v.Letters == "" && v.Pre == "beta1"
	}
	return false
}

// SecurityLevelBlocksLegacy reports whether the library refuses TLS 1.0/1.1
// at security level 1 and above (OpenSSL 3.0 lowered SHA-1/MD5 strength).
func (v Version) SecurityLevelBlocksLegacy() bool {
	return v.Flavor == FlavorOpenSSL && v.Major >= 3
}

// String prints "OpenSSL 1.0.2k" (with " FIPS" when flagged). The result
// parses back to an equal Version.
func (v Version) String() string {
	if !v.Known() {
		return "unknown"
	}
	var s string
	switch v.Flavor {
	case FlavorBoringSSL:
		s = string(v.Flavor)
	case FlavorAWSLC:
		s = string(v.Flavor)
		if v.FlavorVersion != "" {
			s += " " + v.FlavorVersion
		}
	case FlavorLibreSSL:
		s = fmt.Sprintf("%s %d.%d.%d", v.Flavor, v.Major, v.Minor, v.Patch)
	default:
		s = fmt.Sprintf("%s %d.%d.%d%s", v.Flavor, v.Major, v.Minor, v.Patch, v.Letters)
		if v.Pre != "" {
			s += "-" + v.Pre
		}
	}
	if v.FIPS {
		s += " FIPS"
	}
	return s
}

// Branch is the release branch ("1.0.2", "3.0", "1.1.1") used for end-of-life
// dates: before 3.0 the patch number names the branch, from 3.0 on it does not.
func (v Version) Branch() string {
	if v.Major >= 3 {
		return fmt.Sprintf("%d.%d", v.Major, v.Minor)
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}
