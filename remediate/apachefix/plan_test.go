package apachefix

import (
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// fixAndCheck plans, applies, audits again (no legacy findings) and plans
// again (nothing to change). It returns the plan.
func fixAndCheck(t *testing.T, root, conf, version string, pol remediate.Policy) *remediate.Plan {
	t.Helper()
	_, p := plan(t, testEnv(root, conf, version, pol.Min), pol)
	if p.Empty() {
		t.Fatal("plan is empty, want changes")
	}
	apply(t, root, p)
	a2, p2 := plan(t, testEnv(root, conf, version, pol.Min), pol)
	if l := legacyFindings(a2); len(l) > 0 {
		t.Errorf("after the fix, legacy findings remain: %+v", l)
	}
	if !p2.Empty() {
		t.Errorf("second plan not empty: %+v", p2.Files)
	}
	return p
}

func TestRewriteKeepsLayout(t *testing.T) {
	const conf = "/etc/apache2/apache2.conf"
	src := "\uFEFFListen 443\r\nLoadModule ssl_module mod_ssl.so\r\n<IfModule ssl_module>\r\n\t<VirtualHost *:443>\r\n\t\tServerName caf\xe9.example\r\n\t\tSSLEngine on\r\n\t\tSSLProtocol\tall \\\r\n\t\t   -SSLv3\r\n\t</VirtualHost>\r\n</IfModule>\r\n"
	root := platformtest.WriteTree(t, map[string]string{conf: src})
	fixAndCheck(t, root, conf, "2.4.62", remediate.DefaultPolicy())
	want := "\uFEFFListen 443\r\nLoadModule ssl_module mod_ssl.so\r\n<IfModule ssl_module>\r\n\t<VirtualHost *:443>\r\n\t\tServerName caf\xe9.example\r\n\t\tSSLEngine on\r\n\t\tSSLProtocol\t-all +TLSv1.2 +TLSv1.3\r\n\t</VirtualHost>\r\n</IfModule>\r\n"
	if got := platformtest.ReadFile(t, root, conf); got != want {
		t.Errorf("after fix:\n%q\nwant\n%q", got, want)
	}
}

func TestTLS13GatedByHTTPDVersion(t *testing.T) {
	const conf = "/etc/httpd/conf/httpd.conf"
	for _, tc := range []struct {
		version string
		want    string
	}{
		{"2.4.35", "SSLProtocol -all +TLSv1.2\n"},
		{"2.4.36", "SSLProtocol -all +TLSv1.2 +TLSv1.3\n"},
		{"", "SSLProtocol -all +TLSv1.2\n"}, // unknown: do not risk a failed start
	} {
		t.Run(tc.version, func(t *testing.T) {
			root := platformtest.WriteTree(t, map[string]string{conf: "SSLProtocol all -SSLv3\n"})
			p := fixAndCheck(t, root, conf, tc.version, remediate.DefaultPolicy())
			if got := platformtest.ReadFile(t, root, conf); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if tc.want == "SSLProtocol -all +TLSv1.2\n" && len(p.Notes) == 0 {
				t.Error("no note says why TLSv1.3 was left out")
			}
		})
	}
}

func TestMinVersion13(t *testing.T) {
	const conf = "/etc/httpd/conf/httpd.conf"
	root := platformtest.WriteTree(t, map[string]string{conf: "SSLProtocol -all +TLSv1.2\n"})
	fixAndCheck(t, root, conf, "2.4.62", remediate.Policy{Min: audit.TLS13, TLS13: remediate.TLS13Auto})
	if got := platformtest.ReadFile(t, root, conf); got != "SSLProtocol -all +TLSv1.3\n" {
		t.Errorf("got %q", got)
	}
	root = platformtest.WriteTree(t, map[string]string{conf: "SSLProtocol -all +TLSv1.2\n"})
	if _, _, err := Analyze(t.Context(), testEnv(root, conf, "2.4.6", audit.TLS13), Options{Policy: remediate.Policy{Min: audit.TLS13, TLS13: remediate.TLS13Auto}}); err == nil {
		t.Error("TLS 1.3 only on httpd 2.4.6 planned without error")
	}
}

func TestDefaultInsertedInIfModule(t *testing.T) {
	const conf = "/etc/httpd/conf/httpd.conf"
	src := "Listen 443\nLoadModule ssl_module modules/mod_ssl.so\n<VirtualHost *:443>\n    SSLEngine on\n</VirtualHost>"
	root := platformtest.WriteTree(t, map[string]string{conf: src})
	fixAndCheck(t, root, conf, "2.4.62", remediate.DefaultPolicy())
	want := src + "\n<IfModule ssl_module>\n    SSLProtocol -all +TLSv1.2 +TLSv1.3\n</IfModule>\n"
	if got := platformtest.ReadFile(t, root, conf); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSharedAddressHarmonised(t *testing.T) {
	const conf = "/etc/httpd/conf/httpd.conf"
	src := "Listen 443\n<VirtualHost *:443>\n    ServerName a\n    SSLEngine on\n    SSLProtocol all\n</VirtualHost>\n<VirtualHost *:443>\n    ServerName b\n    SSLEngine on\n    SSLProtocol -all +TLSv1.2\n</VirtualHost>\n"
	root := platformtest.WriteTree(t, map[string]string{conf: src})
	p := fixAndCheck(t, root, conf, "2.4.62", remediate.DefaultPolicy())
	got := platformtest.ReadFile(t, root, conf)
	want := "Listen 443\n<VirtualHost *:443>\n    ServerName a\n    SSLEngine on\n    SSLProtocol -all +TLSv1.2 +TLSv1.3\n</VirtualHost>\n<VirtualHost *:443>\n    ServerName b\n    SSLEngine on\n    SSLProtocol -all +TLSv1.2 +TLSv1.3\n</VirtualHost>\n"
	if got != want {
		t.Errorf("got\n%s", got)
	}
	found := false
	for _, n := range p.Notes {
		found = found || (strings.Contains(n, ":10:") && strings.Contains(n, "compliant"))
	}
	if !found {
		t.Errorf("no note explains the change of the compliant line 10: %q", p.Notes)
	}
}
