package openssl

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsfloor/tlsfloor/audit"
)

func TestLibraryReport(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	type f struct {
		ID       audit.RuleID
		Severity audit.Severity
	}
	tests := []struct {
		version string
		now     string
		want    []f
	}{
		{"OpenSSL 0.9.8zh", "2026-11-28", []f{{audit.RuleOpenSSLNoTLS12, audit.Critical}, {audit.RuleOpenSSLEOL, audit.Low}}},
		{"OpenSSL 1.0.1f", "2026-11-28", []f{{audit.RuleOpenSSLNoTLS13, audit.Medium}, {audit.RuleOpenSSLHeartbleed, audit.Critical}, {audit.RuleOpenSSLEOL, audit.Low}}},
		{"OpenSSL 1.0.1", "2014-01-01", []f{{audit.RuleOpenSSLNoTLS13, audit.Medium}, {audit.RuleOpenSSLHeartbleed, audit.Critical}}},
		{"OpenSSL 1.0.1g", "2014-05-01", []f{{audit.RuleOpenSSLNoTLS13, audit.Medium}}},
		{"OpenSSL 1.0.2k-fips", "2019-12-31", []f{{audit.RuleOpenSSLNoTLS13, audit.Medium}}},
		// The end-of-life day itself is still supported; the day after is not.
		{"OpenSSL 1.0.2k-fips", "2020-01-01", []f{{audit.RuleOpenSSLNoTLS13, audit.Medium}, {audit.RuleOpenSSLEOL, audit.Low}}},
		{"OpenSSL 1.1.1w", "2023-09-11", nil},
		{"OpenSSL 1.1.1za", "2024-07-01", []f{{audit.RuleOpenSSLEOL, audit.Low}}},
		{"OpenSSL 3.0.13", "2026-09-07", nil},
		{"OpenSSL 3.0.13", "2026-09-08", []f{{audit.RuleOpenSSLEOL, audit.Low}}},
		{"OpenSSL 3.5.4", "2029-01-01", nil},
		{"OpenSSL 4.0.0", "2027-05-15", []f{{audit.RuleOpenSSLEOL, audit.Low}}},
		// No OpenSSL EOL table for the others.
		{"LibreSSL 2.8.3", "2030-01-01", []f{{audit.RuleOpenSSLNoTLS13, audit.Medium}}},
		{"LibreSSL 3.8.2", "2030-01-01", nil},
		{"OpenSSL 1.1.1 (compatible; BoringSSL)", "2030-01-01", nil},
	}
	for _, tt := range tests {
		t.Run(tt.version+"@"+tt.now, func(t *testing.T) {
			lib := Library{Version: mustParse(t, tt.version), Path: "/usr/lib/libcrypto.so", SONAME: "libcrypto.so.3", Via: "ld.so.cache"}
			c, fs := LibraryReport(lib, "nginx", day(tt.now))
			var got []f
			for _, x := range fs {
				got = append(got, f{x.ID, x.Severity})
				if x.File != "/usr/lib/libcrypto.so" || !strings.Contains(x.Message, "nginx") || x.Remediation == "" {
					t.Errorf("finding %+v: want the library path, the consumer and a remediation", x)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("findings (-want +got):\n%s", d)
			}
			if c.Kind != audit.KindOpenSSL || c.Version != lib.Version.String() || c.Status != audit.StatusOK {
				t.Errorf("component = %+v", c)
			}
		})
	}
}

func TestLibraryReportEOLMessage(t *testing.T) {
	_, fs := LibraryReport(Library{Version: mustParse(t, "OpenSSL 1.1.1k  FIPS 25 Mar 2021"), Path: "/x"}, "apache", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "2023-09-11") || !strings.Contains(fs[0].Message, "backport") {
		t.Fatalf("findings = %+v, want one EOL finding naming 2023-09-11 and backports", fs)
	}
}

func TestSupported(t *testing.T) {
	for in, want := range map[string]string{
		"OpenSSL 0.9.8zh": "SSLv3 TLSv1.0",
		"OpenSSL 1.0.1u":  "SSLv3 TLSv1.0 TLSv1.1 TLSv1.2",
		"OpenSSL 1.1.0l":  "TLSv1.0 TLSv1.1 TLSv1.2",
		"OpenSSL 3.0.2":   "TLSv1.0 TLSv1.1 TLSv1.2 TLSv1.3",
		"LibreSSL 2.8.3":  "TLSv1.0 TLSv1.1 TLSv1.2",
	} {
		if got := Supported(mustParse(t, in)).String(); got != want {
			t.Errorf("Supported(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestRefusedAt(t *testing.T) {
	tests := []struct {
		lib    string
		ubuntu bool
		level  int
		want   string
	}{
		{"OpenSSL 1.1.1w", false, 1, "none"},
		{"OpenSSL 1.1.1w", false, 2, "SSLv3"},
		{"OpenSSL 1.1.1w", false, 3, "SSLv3 TLSv1.0"},
		{"OpenSSL 1.1.1w", false, 4, "SSLv3 TLSv1.0 TLSv1.1"},
		{"OpenSSL 1.1.1f", true, 2, "SSLv2 SSLv3 TLSv1.0 TLSv1.1"},
		{"OpenSSL 1.1.1f", true, 1, "none"},
		{"OpenSSL 3.0.13", false, 0, "none"},
		{"OpenSSL 3.0.13", false, 1, "SSLv2 SSLv3 TLSv1.0 TLSv1.1"},
		{"OpenSSL 1.0.2k", false, 5, "none"}, // no security levels before 1.1.0
	}
	for _, tt := range tests {
		got, why := refusedAt(Host{Lib: mustParse(t, tt.lib), Ubuntu: tt.ubuntu}, tt.level, "test")
		if got.String() != tt.want || why == "" {
			t.Errorf("refusedAt(%s, ubuntu=%v, %d) = %s (%q), want %s with a reason", tt.lib, tt.ubuntu, tt.level, got, why, tt.want)
		}
	}
}
