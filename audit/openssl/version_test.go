package openssl

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Version
	}{
		{"OpenSSL 1.0.1f 6 Jan 2014", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 0, Patch: 1, Letters: "f"}},
		{"OpenSSL 1.0.2k-fips  26 Jan 2017", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 0, Patch: 2, Letters: "k", FIPS: true}},
		{"OpenSSL 1.1.1k  FIPS 25 Mar 2021", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 1, Patch: 1, Letters: "k", FIPS: true}},
		{"OpenSSL 1.1.1w  11 Sep 2023", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 1, Patch: 1, Letters: "w"}},
		{"OpenSSL 1.1.1za  26 Jun 2024", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 1, Patch: 1, Letters: "za"}},
		{"OpenSSL 0.9.8zh 3 Dec 2015", Version{Flavor: FlavorOpenSSL, Major: 0, Minor: 9, Patch: 8, Letters: "zh"}},
		{"OpenSSL 3.0.22 25 Aug 2026 (Library: OpenSSL 3.0.22 25 Aug 2026)", Version{Flavor: FlavorOpenSSL, Major: 3, Minor: 0, Patch: 22}},
		// The run-time library decides, not the headers the CLI was built with.
		{"OpenSSL 1.1.1f  31 Mar 2020 (Library: OpenSSL 1.1.1k  25 Mar 2021)", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 1, Patch: 1, Letters: "k"}},
		{"built with OpenSSL 3.0.22 25 Aug 2026 (running with OpenSSL 3.0.2 15 Mar 2022)", Version{Flavor: FlavorOpenSSL, Major: 3, Minor: 0, Patch: 2}},
		{"OpenSSL 4.0.0 14 Apr 2026 (Library: OpenSSL 4.0.0 14 Apr 2026)", Version{Flavor: FlavorOpenSSL, Major: 4}},
		{"OpenSSL 3.0.0-alpha17 20 May 2021", Version{Flavor: FlavorOpenSSL, Major: 3, Pre: "alpha17"}},
		{"OpenSSL 1.1.1-pre9 (beta) 21 Aug 2018", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 1, Patch: 1, Pre: "pre9"}},
		{"OpenSSL 1.0.2-beta1 24 Feb 2014", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 0, Patch: 2, Pre: "beta1"}},
		{"LibreSSL 3.3.6", Version{Flavor: FlavorLibreSSL, Major: 3, Minor: 3, Patch: 6}},
		{"OpenSSL 1.1.1 (compatible; BoringSSL)", Version{Flavor: FlavorBoringSSL, Major: 1, Minor: 1, Patch: 1}},
		{"built with OpenSSL 1.1.1 (compatible; BoringSSL) (running with BoringSSL)", Version{Flavor: FlavorBoringSSL, Major: 1, Minor: 1, Patch: 1}},
		{"OpenSSL 1.1.1 (compatible; AWS-LC 1.20.0)", Version{Flavor: FlavorAWSLC, Major: 1, Minor: 1, Patch: 1, FlavorVersion: "1.20.0"}},
		{"1.1.1w", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 1, Patch: 1, Letters: "w"}},
		{"nginx/1.22.1 openssl/1.0.1e-fips", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 0, Patch: 1, Letters: "e", FIPS: true}},
		// Lines from /work/shared/corpus (Mozilla generator headers, mod_ssl comments).
		{"Guideline v5.7, Apache 2.4.6, OpenSSL 1.0.2k (UNSUPPORTED; end-of-life), old config", Version{Flavor: FlavorOpenSSL, Major: 1, Minor: 0, Patch: 2, Letters: "k"}},
		{"Guideline v6.0, nginx 1.27.3, OpenSSL 3.4.0 (OLD: missing PQC hybrid MLKEMs), intermediate", Version{Flavor: FlavorOpenSSL, Major: 3, Minor: 4}},
		{"apache:     2.4.60/OpenSSL 3.4.0, 2.4.6/1.0.2k, 2.2.34/1.0.1e", Version{Flavor: FlavorOpenSSL, Major: 3, Minor: 4}},
		{"#   OCSP Stapling (requires OpenSSL 0.9.8h or later)", Version{Flavor: FlavorOpenSSL, Major: 0, Minor: 9, Patch: 8, Letters: "h"}},
		// A later configure argument must not mark the library FIPS.
		{"built with OpenSSL 3.0.7 1 Nov 2022\nconfigure arguments: --with-fips", Version{Flavor: FlavorOpenSSL, Major: 3, Patch: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(Version{}, "Raw")); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "nginx version: nginx/1.22.1", "OpenSSL", "OpenSSL 1.0.2abc", "OpenSSL 1.0.12345", "1.0", "OpenSSL 1.0.2.1"} {
		if v, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, v)
		}
	}
}

func mustParse(t testing.TB, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return v
}

// TestOrder pins the order go-version gets wrong on its own (linux-servers.md
// §6.3): letter releases after the plain release, two letters after one.
func TestOrder(t *testing.T) {
	ordered := []string{
		"0.9.8", "0.9.8zh", "1.0.0", "1.0.1-beta1", "1.0.1", "1.0.1a", "1.0.1f", "1.0.1g", "1.0.1u",
		"1.0.2-beta1", "1.0.2", "1.0.2k", "1.0.2u", "1.0.2za", "1.0.2zk",
		"1.1.0l", "1.1.1-pre9", "1.1.1-pre10", "1.1.1", "1.1.1w", "1.1.1z", "1.1.1za", "1.1.1zb",
		"3.0.0-alpha17", "3.0.0-beta1", "3.0.0", "3.0.2", "3.0.13", "3.5.0", "4.0.0",
	}
	for i := range ordered {
		for j := range ordered {
			a, b := mustParse(t, ordered[i]), mustParse(t, ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	shuffled := append([]string(nil), ordered...)
	sort.Slice(shuffled, func(i, j int) bool { return shuffled[i] > shuffled[j] })
	sort.SliceStable(shuffled, func(i, j int) bool { return mustParse(t, shuffled[i]).Compare(mustParse(t, shuffled[j])) < 0 })
	if d := cmp.Diff(ordered, shuffled); d != "" {
		t.Errorf("sorted order (-want +got):\n%s", d)
	}
}

func TestCapabilities(t *testing.T) {
	tests := []struct {
		in                             string
		tls12, tls13, heartbleed, sec3 bool
	}{
		{"OpenSSL 0.9.8zh", false, false, false, false},
		{"OpenSSL 1.0.0t", false, false, false, false},
		{"OpenSSL 1.0.1", true, false, true, false},
		{"OpenSSL 1.0.1a", true, false, true, false},
		{"OpenSSL 1.0.1f", true, false, true, false},
		{"OpenSSL 1.0.1g", true, false, false, false},
		{"OpenSSL 1.0.1u", true, false, false, false},
		{"OpenSSL 1.0.2-beta1", true, false, true, false},
		{"OpenSSL 1.0.2-beta2", true, false, false, false},
		{"OpenSSL 1.0.2", true, false, false, false},
		{"OpenSSL 1.0.2k-fips", true, false, false, false},
		{"OpenSSL 1.1.0l", true, false, false, false},
		{"OpenSSL 1.1.1-pre9", true, false, false, false},
		{"OpenSSL 1.1.1", true, true, false, false},
		{"OpenSSL 1.1.1za", true, true, false, false},
		{"OpenSSL 3.0.2", true, true, false, true},
		{"LibreSSL 2.8.3", true, false, false, false},
		{"LibreSSL 3.3.6", true, true, false, false},
		{"OpenSSL 1.1.1 (compatible; BoringSSL)", true, true, false, false},
	}
	for _, tt := range tests {
		v := mustParse(t, tt.in)
		if got := v.SupportsTLS12(); got != tt.tls12 {
			t.Errorf("%s SupportsTLS12 = %v", tt.in, got)
		}
		if got := v.SupportsTLS13(); got != tt.tls13 {
			t.Errorf("%s SupportsTLS13 = %v", tt.in, got)
		}
		if got := v.Heartbleed(); got != tt.heartbleed {
			t.Errorf("%s Heartbleed = %v", tt.in, got)
		}
		if got := v.SecurityLevelBlocksLegacy(); got != tt.sec3 {
			t.Errorf("%s SecurityLevelBlocksLegacy = %v", tt.in, got)
		}
	}
}

func TestNormalized(t *testing.T) {
	for in, want := range map[string]string{
		"1.0.1": "1.0.1.0", "1.0.1g": "1.0.1.7", "1.0.2za": "1.0.2.27", "1.1.1zb": "1.1.1.28",
		"1.0.2k-fips": "1.0.2.11", "3.0.0-alpha17": "3.0.0.0-alpha.17",
	} {
		if got := mustParse(t, in).Normalized(); got != want {
			t.Errorf("Normalized(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestLegacyBlocked(t *testing.T) {
	v3, v111 := mustParse(t, "OpenSSL 3.0.13"), mustParse(t, "OpenSSL 1.1.1w")
	if !LegacyBlocked(v3) || !LegacyBlocked(v3, "HIGH:!aNULL", "DEFAULT:@SECLEVEL=1") {
		t.Error("OpenSSL 3 at level >= 1 should block TLS 1.0/1.1")
	}
	if LegacyBlocked(v3, "HIGH", "DEFAULT:@SECLEVEL=0") {
		t.Error("@SECLEVEL=0 should re-enable TLS 1.0/1.1")
	}
	if LegacyBlocked(v111) {
		t.Error("OpenSSL 1.1.1 does not block TLS 1.0/1.1 by security level")
	}
}

// FuzzParse: Parse never panics, and whatever parses prints (String) to text
// that parses back to an equal version.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"OpenSSL 1.0.1f 6 Jan 2014", "OpenSSL 1.0.2k-fips  26 Jan 2017", "OpenSSL 1.1.1k  FIPS 25 Mar 2021",
		"OpenSSL 3.0.22 25 Aug 2026 (Library: OpenSSL 3.0.22 25 Aug 2026)", "LibreSSL 3.3.6",
		"OpenSSL 1.1.1 (compatible; BoringSSL)", "OpenSSL 1.1.1 (compatible; AWS-LC 1.20.0)",
		"built with OpenSSL 3.0.22 25 Aug 2026 (running with OpenSSL 3.0.2 15 Mar 2022)",
		"OpenSSL 1.1.1za", "0.9.8zh", "OpenSSL 3.0.0-alpha17", "OpenSSL 1.0.1e (UNSUPPORTED", "OpenSSL 3.4.0 (OLD: missing PQC",
		"Guideline v5.7, Apache 2.4.6, OpenSSL 1.0.2k (UNSUPPORTED; end-of-life), old config",
		"apache:     2.4.60/OpenSSL 3.4.0, 2.4.6/1.0.2k, 2.2.34/1.0.1e", "#   Requires OpenSSL 1.0.1 or newer. See the mod_ssl FAQ for",
		"OpenSSL 1.1.1-pre9 (beta) 21 Aug 2018", "AWS-LC FIPS 2.0.0", "LibreSSL 2.8.3 FIPS", "OpenSSL 1.0.2-beta1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(v.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, v.String(), err)
		}
		if !again.Equal(v) {
			t.Fatalf("Parse(%q) = %+v; String %q parses to %+v", s, v, v.String(), again)
		}
		_ = v.Compare(again)
	})
}
