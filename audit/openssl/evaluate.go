package openssl

import (
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
)

var reSecLevel0 = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`@SECLEVEL=0\b`) })

// LegacyBlocked reports whether the library refuses TLS 1.0/1.1 in practice
// even when a server's configuration lists them: OpenSSL 3 and later reject
// the MD5/SHA-1 signatures TLS 1.0/1.1 need at security level 1 and above,
// and only "@SECLEVEL=0" in one of the server's cipher strings (ssl_ciphers,
// SSLCipherSuite, ssl_conf_command/SSLOpenSSLConfCmd values) lowers it.
func LegacyBlocked(lib Version, cipherStrings ...string) bool {
	if !lib.SecurityLevelBlocksLegacy() {
		return false
	}
	for _, c := range cipherStrings {
		if reSecLevel0().MatchString(c) {
			return false
		}
	}
	return true
}

// eolDates are the upstream end-of-life dates by branch
// (linux-servers.md §5.2). 0.9.8 and 1.0.0 ended on 2015-12-31 (OpenSSL
// release strategy of 2014).
var eolDates = map[string]string{
	"0.9.8": "2015-12-31",
	"1.0.0": "2015-12-31",
	"1.0.1": "2016-12-31",
	"1.0.2": "2019-12-31",
	"1.1.0": "2019-09-11",
	"1.1.1": "2023-09-11",
	"3.0":   "2026-09-07",
	"3.1":   "2025-03-14",
	"3.2":   "2025-11-23",
	"3.3":   "2026-04-09",
	"3.4":   "2026-10-22",
	"3.5":   "2030-04-08",
	"3.6":   "2026-11-01",
	"4.0":   "2027-05-14",
}

// EOL returns the upstream end-of-life date of v's branch; ok is false for
// branches without a known date and for LibreSSL, BoringSSL and AWS-LC.
func EOL(v Version) (time.Time, bool) {
	if v.Flavor != FlavorOpenSSL {
		return time.Time{}, false
	}
	d, ok := eolDates[v.Branch()]
	if !ok {
		if v.Major == 0 {
			d, ok = "2015-12-31", true // everything before 0.9.8 ended earlier still
		} else {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(time.DateOnly, d)
	return t, err == nil
}

// Supported returns the protocols the library can negotiate at all.
func Supported(v Version) audit.ProtocolSet {
	if !v.Known() {
		return 0
	}
	s := audit.Set(audit.TLS10)
	if v.Flavor == FlavorOpenSSL && v.Major < 1 || (v.Major == 1 && v.Minor == 0 && v.Flavor == FlavorOpenSSL) {
		// SSLv3 was still built by default before 1.1.0.
		s = s.With(audit.SSLv3)
	}
	if v.SupportsTLS12() {
		s = s.With(audit.TLS11).With(audit.TLS12)
	}
	if v.SupportsTLS13() {
		s = s.With(audit.TLS13)
	}
	return s
}

// LibraryReport returns the component and findings for a TLS library used
// by a consumer ("nginx", "apache", "openssl CLI"): openssl-no-tls12,
// openssl-heartbleed, openssl-no-tls13, openssl-eol. now decides the
// end-of-life finding, so tests pass a fixed date.
func LibraryReport(lib Library, usedBy string, now time.Time) (audit.Component, []audit.Finding) {
	v := lib.Version
	c := audit.Component{
		Kind:    audit.KindOpenSSL,
		Path:    lib.Path,
		Version: v.String(),
		Status:  audit.StatusOK,
		Notes:   []string{"used by " + usedBy},
	}
	if lib.Static {
		c.Notes = append(c.Notes, "statically linked: the version string was read from the binary")
	} else if lib.SONAME != "" {
		c.Notes = append(c.Notes, fmt.Sprintf("%s found via %s", lib.SONAME, lib.Via))
	}
	if !v.Known() {
		c.Status = audit.StatusNotFound
		c.Notes = append(c.Notes, "library version unknown")
		return c, nil
	}
	supported := Supported(v)
	loc := audit.Location{File: lib.Path}
	var fs []audit.Finding
	add := func(id audit.RuleID, protos audit.ProtocolSet, msg string) {
		fs = append(fs, audit.NewFinding(id, audit.KindOpenSSL, loc, protos, msg))
	}
	switch {
	case !v.SupportsTLS12():
		add(audit.RuleOpenSSLNoTLS12, supported,
			fmt.Sprintf("%s (used by %s) cannot negotiate TLS 1.2 or 1.3: only %s", v, usedBy, supported))
	case !v.SupportsTLS13():
		add(audit.RuleOpenSSLNoTLS13, supported,
			fmt.Sprintf("%s (used by %s) cannot negotiate TLS 1.3", v, usedBy))
	}
	if v.Heartbleed() {
		add(audit.RuleOpenSSLHeartbleed, supported,
			fmt.Sprintf("%s (used by %s) is vulnerable to Heartbleed (CVE-2014-0160); fixed in 1.0.1g", v, usedBy))
	}
	switch v.Flavor {
	case FlavorOpenSSL:
		if eol, ok := EOL(v); ok && !now.Before(eol.AddDate(0, 0, 1)) {
			add(audit.RuleOpenSSLEOL, supported,
				fmt.Sprintf("OpenSSL %s (used by %s) reached upstream end of life on %s; distributions may still backport security fixes",
					v.Branch(), usedBy, eol.Format(time.DateOnly)))
		} else if !ok {
			c.Notes = append(c.Notes, fmt.Sprintf("no end-of-life date known for OpenSSL branch %s", v.Branch()))
		} else {
			c.Notes = append(c.Notes, fmt.Sprintf("OpenSSL %s is supported upstream until %s", v.Branch(), eol.Format(time.DateOnly)))
		}
	case FlavorLibreSSL:
		c.Notes = append(c.Notes, "LibreSSL: OpenSSL's end-of-life table does not apply; LibreSSL supports each release for about a year (check your OS vendor)")
	case FlavorBoringSSL, FlavorAWSLC:
		c.Notes = append(c.Notes, fmt.Sprintf("%s has no OpenSSL-style releases or end-of-life dates; it supports TLS 1.2 and 1.3", v.Flavor))
	}
	if v.FIPS {
		c.Notes = append(c.Notes, "FIPS build")
	}
	return c, fs
}
