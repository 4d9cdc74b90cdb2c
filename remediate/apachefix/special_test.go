package apachefix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// debianTree is a Debian layout: modules and sites enabled through
// relative symlinks (as a2enmod makes them), the global SSL settings in
// mods-available/ssl.conf.
func debianTree(t *testing.T, sslConf, site string) string {
	t.Helper()
	root := platformtest.WriteTree(t, map[string]string{
		"/etc/apache2/apache2.conf":                     "Listen 443\nIncludeOptional mods-enabled/*.load\nIncludeOptional mods-enabled/*.conf\nIncludeOptional sites-enabled/*.conf\n",
		"/etc/apache2/mods-available/ssl.load":          "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n",
		"/etc/apache2/mods-available/ssl.conf":          sslConf,
		"/etc/apache2/sites-available/default-ssl.conf": site,
	})
	for _, l := range [][2]string{
		{"/etc/apache2/mods-enabled/ssl.load", "../mods-available/ssl.load"},
		{"/etc/apache2/mods-enabled/ssl.conf", "../mods-available/ssl.conf"},
		{"/etc/apache2/sites-enabled/default-ssl.conf", "../sites-available/default-ssl.conf"},
	} {
		p := filepath.Join(root, l[0])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l[1], p); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const debianConf = "/etc/apache2/apache2.conf"

func TestDebianInsertInSSLSection(t *testing.T) {
	ssl := "<IfModule mod_ssl.c>\n\n\t# Pseudo Random Number Generator\n\tSSLRandomSeed startup builtin\n</IfModule>\n"
	site := "<VirtualHost *:443>\n\tSSLEngine on\n</VirtualHost>\n"
	root := debianTree(t, ssl, site)
	p := fixAndCheck(t, root, debianConf, "2.4.62", remediate.DefaultPolicy())
	if len(p.Files) != 1 || p.Files[0].RealPath != "/etc/apache2/mods-available/ssl.conf" {
		t.Fatalf("files %+v", p.Files)
	}
	want := "<IfModule mod_ssl.c>\n\tSSLProtocol -all +TLSv1.2 +TLSv1.3\n\n\t# Pseudo Random Number Generator\n\tSSLRandomSeed startup builtin\n</IfModule>\n"
	if got := platformtest.ReadFile(t, root, "/etc/apache2/mods-available/ssl.conf"); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if fi, err := os.Lstat(filepath.Join(root, "etc/apache2/mods-enabled/ssl.conf")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v", err)
	}
}

func TestSymlinkedSiteRewritten(t *testing.T) {
	ssl := "<IfModule mod_ssl.c>\n\tSSLProtocol -all +TLSv1.2 +TLSv1.3\n</IfModule>\n"
	site := "<VirtualHost *:443>\n\tSSLEngine on\n\tSSLProtocol \"all\" \"-SSLv3\"\n</VirtualHost>\n"
	root := debianTree(t, ssl, site)
	p := fixAndCheck(t, root, debianConf, "2.4.62", remediate.DefaultPolicy())
	if len(p.Files) != 1 || p.Files[0].Path != "/etc/apache2/sites-enabled/default-ssl.conf" || p.Files[0].RealPath != "/etc/apache2/sites-available/default-ssl.conf" {
		t.Fatalf("files %+v", p.Files)
	}
	// Quoting kept.
	if got := platformtest.ReadFile(t, root, "/etc/apache2/sites-available/default-ssl.conf"); !strings.Contains(got, "\tSSLProtocol \"-all\" \"+TLSv1.2\" \"+TLSv1.3\"\n") {
		t.Errorf("got\n%s", got)
	}
}

func TestOnlyInsideIfDefine(t *testing.T) {
	const conf = "/etc/httpd/conf/httpd.conf"
	src := "Define SSL\nLoadModule ssl_module modules/mod_ssl.so\n<IfDefine SSL>\n  <IfModule ssl_module>\n    <VirtualHost *:443>\n      SSLEngine on\n      SSLProtocol all -SSLv2 -SSLv3\n    </VirtualHost>\n  </IfModule>\n</IfDefine>\n<IfDefine NOPE>\n  SSLProtocol SSLv3\n</IfDefine>\n"
	root := platformtest.WriteTree(t, map[string]string{conf: src})
	fixAndCheck(t, root, conf, "2.4.62", remediate.DefaultPolicy())
	got := platformtest.ReadFile(t, root, conf)
	if !strings.Contains(got, "      SSLProtocol -all +TLSv1.2 +TLSv1.3\n") {
		t.Errorf("active directive not rewritten:\n%s", got)
	}
	// httpd never reads the inactive one; it is left as written.
	if !strings.Contains(got, "  SSLProtocol SSLv3\n") {
		t.Errorf("inactive directive changed:\n%s", got)
	}
}

func TestProxyProtocolRewritten(t *testing.T) {
	const conf = "/etc/httpd/conf/httpd.conf"
	src := "LoadModule ssl_module modules/mod_ssl.so\nSSLProtocol -all +TLSv1.2\n<VirtualHost *:443>\n    SSLEngine on\n    SSLProxyEngine on\n    SSLProxyProtocol all -SSLv3\n</VirtualHost>\n"
	root := platformtest.WriteTree(t, map[string]string{conf: src})
	fixAndCheck(t, root, conf, "2.4.62", remediate.DefaultPolicy())
	if got := platformtest.ReadFile(t, root, conf); !strings.Contains(got, "    SSLProxyProtocol -all +TLSv1.2 +TLSv1.3\n") {
		t.Errorf("got\n%s", got)
	}
}

func TestDefaultsForServerAndProxyInOneSection(t *testing.T) {
	const conf = "/etc/httpd/conf/httpd.conf"
	src := "LoadModule ssl_module modules/mod_ssl.so\r\n<VirtualHost *:443>\r\n    SSLEngine on\r\n    SSLProxyEngine on\r\n</VirtualHost>\r\n"
	root := platformtest.WriteTree(t, map[string]string{conf: src})
	fixAndCheck(t, root, conf, "2.4.62", remediate.DefaultPolicy())
	want := src + "<IfModule ssl_module>\r\n    SSLProtocol -all +TLSv1.2 +TLSv1.3\r\n    SSLProxyProtocol -all +TLSv1.2 +TLSv1.3\r\n</IfModule>\r\n"
	if got := platformtest.ReadFile(t, root, conf); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
