// Package openssl finds and judges the TLS library a host and its servers
// use: it parses version strings of OpenSSL (0.9.x to 4.x, letter releases,
// -fips), LibreSSL and BoringSSL, compares them correctly, reads the library a
// binary really links (ELF DT_NEEDED resolved like ld.so), and evaluates the
// system crypto policy. hashicorp/go-version is used only behind the
// normaliser in this file: on its own it orders 1.0.1g before 1.0.1.
package openssl

import (
	"fmt"
	"regexp"
	"strings"

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
type Version struct {
	Flavor  Flavor
	Major   int
	Minor   int
	Patch   int
	Letters string // OpenSSL letter release: "g" in 1.0.1g, "za" in 1.1.1za
	FIPS    bool
	Raw     string // the text it was parsed from, trimmed
}

var (
	reOpenSSL  = regexp.MustCompile(`(?i)\bOpenSSL[ /_-]?(\d+)\.(\d+)\.(\d+)([a-z]{0,3})`)
	reLibre    = regexp.MustCompile(`\bLibreSSL[ /]?(\d+)\.(\d+)\.(\d+)`)
	reBoring   = regexp.MustCompile(`BoringSSL`)
	reAWSLC    = regexp.MustCompile(`AWS-LC(?: (\d+)\.(\d+)\.(\d+))?`)
	reBare     = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)([a-z]{0,3})`)
	reFIPS     = regexp.MustCompile(`(?i)[-\s]fips\b`)
	reLetterOK = regexp.MustCompile(`^[a-z]*$`)
)

// Parse reads a version out of text such as `openssl version` output
// ("OpenSSL 1.0.2k-fips  26 Jan 2017"), an nginx -V line, a string found
// inside libcrypto, or a bare "1.1.1w".
func Parse(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	v := Version{Raw: raw, FIPS: reFIPS.MatchString(raw)}
	atoi := func(a, b, c string) {
		fmt.Sscan(a, &v.Major)
		fmt.Sscan(b, &v.Minor)
		fmt.Sscan(c, &v.Patch)
	}
	switch {
	case reBoring.MatchString(raw):
		// BoringSSL reports a fixed "OpenSSL 1.1.1" compatibility level.
		v.Flavor = FlavorBoringSSL
		v.Major, v.Minor, v.Patch = 1, 1, 1
		return v, nil
	case reAWSLC.MatchString(raw):
		v.Flavor = FlavorAWSLC
		v.Major, v.Minor, v.Patch = 1, 1, 1
		return v, nil
	}
	if m := reLibre.FindStringSubmatch(raw); m != nil {
		v.Flavor = FlavorLibreSSL
		atoi(m[1], m[2], m[3])
		return v, nil
	}
	if m := reOpenSSL.FindStringSubmatch(raw); m != nil {
		v.Flavor = FlavorOpenSSL
		atoi(m[1], m[2], m[3])
		v.Letters = strings.ToLower(m[4])
		return v, nil
	}
	if m := reBare.FindStringSubmatch(raw); m != nil {
		v.Flavor = FlavorOpenSSL
		atoi(m[1], m[2], m[3])
		v.Letters = m[4]
		return v, nil
	}
	return Version{}, fmt.Errorf("not an OpenSSL, LibreSSL or BoringSSL version: %q", truncate(raw, 60))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// letterNumber maps the letter release to a fourth version number: "" is 0,
// "a" 1 ... "z" 26, "za" 27, "zb" 28 and so on (shorter sorts first).
func letterNumber(s string) int {
	if s == "" || !reLetterOK.MatchString(s) {
		return 0
	}
	return 26*(len(s)-1) + int(s[len(s)-1]-'a'+1)
}

// Normalized returns the version as four plain numbers ("1.0.1.7" for
// 1.0.1g), the only form handed to go-version.
func (v Version) Normalized() string {
	return fmt.Sprintf("%d.%d.%d.%d", v.Major, v.Minor, v.Patch, letterNumber(v.Letters))
}

func (v Version) semver() *goversion.Version {
	gv, err := goversion.NewVersion(v.Normalized())
	if err != nil {
		// Normalized is always four integers; go-version accepts those.
		panic(fmt.Sprintf("openssl: normalised version %q rejected: %v", v.Normalized(), err))
	}
	return gv
}

// Compare orders two versions of the same numbering (-1, 0, 1). LibreSSL
// numbers are not OpenSSL numbers: use Supports* for capability questions.
func (v Version) Compare(o Version) int { return v.semver().Compare(o.semver()) }

// AtLeast reports v >= s for an OpenSSL version constant such as "1.0.1g".
func (v Version) AtLeast(s string) bool {
	o, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v.Compare(o) >= 0
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

// Heartbleed reports whether the version is 1.0.1 to 1.0.1f (CVE-2014-0160).
func (v Version) Heartbleed() bool {
	return v.Flavor == FlavorOpenSSL && v.AtLeast("1.0.1") && !v.AtLeast("1.0.1g") && v.Major == 1 && v.Minor == 0 && v.Patch == 1
}

// SecurityLevelBlocksLegacy reports whether the library refuses TLS 1.0/1.1
// at security level 1 and above (OpenSSL 3.0 lowered SHA-1/MD5 strength).
func (v Version) SecurityLevelBlocksLegacy() bool {
	return v.Flavor == FlavorOpenSSL && v.Major >= 3
}

// String prints "OpenSSL 1.0.2k" (with " FIPS" when flagged).
func (v Version) String() string {
	if !v.Known() {
		return "unknown"
	}
	s := fmt.Sprintf("%s %d.%d.%d%s", v.Flavor, v.Major, v.Minor, v.Patch, v.Letters)
	if v.Flavor == FlavorBoringSSL || (v.Flavor == FlavorAWSLC) {
		s = string(v.Flavor)
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
