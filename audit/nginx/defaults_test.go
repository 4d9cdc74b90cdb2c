package nginx

import (
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// The expected sets are the table in reference/linux-servers.md §2.
func TestDefaultProtocols(t *testing.T) {
	const (
		s3 = audit.SSLv3
		t0 = audit.TLS10
		t1 = audit.TLS11
		t2 = audit.TLS12
		t3 = audit.TLS13
	)
	tests := []struct {
		version string
		want    audit.ProtocolSet
	}{
		{"", set(s3, t0, t1, t2)}, // unknown: the oldest default
		{"1.4.6", set(s3, t0, t1, t2)},
		{"1.9.0", set(s3, t0, t1, t2)},
		{"1.9.1", set(t0, t1, t2)},
		{"1.22.1", set(t0, t1, t2)},
		{"1.23.3", set(t0, t1, t2)},
		{"1.23.4", set(t0, t1, t2, t3)},
		{"1.24.0", set(t0, t1, t2, t3)},
		{"1.27.2", set(t0, t1, t2, t3)},
		{"1.27.3", set(t2, t3)},
		{"1.28.0", set(t2, t3)},
		{"1.30.1", set(t2, t3)},
	}
	for _, tt := range tests {
		var v audit.ServerVersion
		if tt.version != "" {
			v = audit.MustServerVersion(tt.version)
		}
		if got := DefaultProtocols(v); got != tt.want {
			t.Errorf("DefaultProtocols(%q) = %v, want %v", tt.version, got, tt.want)
		}
	}
}

func TestSNIPerServer(t *testing.T) {
	lib := func(s string) openssl.Version {
		if s == "" {
			return openssl.Version{}
		}
		v, err := openssl.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		nginx, lib string
		want       bool
	}{
		{"1.22.1", "OpenSSL 3.0.2", false},
		{"1.29.1", "OpenSSL 3.0.2", false},
		{"1.29.2", "OpenSSL 3.0.2", true},
		{"1.30.0", "OpenSSL 1.1.1w", true},
		{"1.30.0", "OpenSSL 1.1.0l", false},
		{"1.30.0", "LibreSSL 3.9.2", false},
		{"1.30.0", "OpenSSL 1.1.1 (compatible; BoringSSL)", true},
		{"1.30.0", "", true},
		{"", "OpenSSL 3.0.2", false},
	}
	for _, tt := range tests {
		var v audit.ServerVersion
		if tt.nginx != "" {
			v = audit.MustServerVersion(tt.nginx)
		}
		if got := SNIPerServer(v, lib(tt.lib)); got != tt.want {
			t.Errorf("SNIPerServer(%q, %q) = %v, want %v", tt.nginx, tt.lib, got, tt.want)
		}
	}
}

func TestParseV(t *testing.T) {
	out := `nginx version: nginx/1.25.3
built by gcc 12.2.0 (Debian 12.2.0-14)
built with OpenSSL 3.0.11 19 Sep 2023 (running with OpenSSL 3.0.17 1 Jul 2025)
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2 -ffile-prefix-map=/build/nginx=.' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log
`
	v := parseV(out)
	if v.version != "1.25.3" || v.built != "OpenSSL 3.0.11 19 Sep 2023" || v.running != "OpenSSL 3.0.17 1 Jul 2025" {
		t.Errorf("parseV = %+v", v)
	}
	if got := v.conf(); got != "/etc/nginx/nginx.conf" {
		t.Errorf("conf = %q", got)
	}
	// No --conf-path: conf/nginx.conf under --prefix, default /usr/local/nginx.
	if got := parseV("configure arguments: --prefix=/opt/ng").conf(); got != "/opt/ng/conf/nginx.conf" {
		t.Errorf("prefix only: conf = %q", got)
	}
	if got := parseV("configure arguments: --with-http_ssl_module").conf(); got != "/usr/local/nginx/conf/nginx.conf" {
		t.Errorf("no prefix: conf = %q", got)
	}
	if got := parseV("configure arguments: --prefix=/opt/ng --conf-path=etc/n.conf").conf(); got != "/opt/ng/etc/n.conf" {
		t.Errorf("relative conf-path: conf = %q", got)
	}
	if v := parseV("nginx version: openresty/1.21.4.3\nbuilt with OpenSSL 1.1.1w  11 Sep 2023\n"); v.version != "1.21.4.3" || v.running != "" {
		t.Errorf("openresty: %+v", v)
	}
}

func TestParseListen(t *testing.T) {
	tests := []struct {
		module string
		args   []string
		addr   string
		port   int
		ssl    bool
		def    bool
	}{
		{"http", []string{"443", "ssl"}, "*:443", 443, true, false},
		{"http", []string{"*:443", "ssl", "default_server"}, "*:443", 443, true, true},
		{"http", []string{"0.0.0.0:8443", "ssl"}, "*:8443", 8443, true, false},
		{"http", []string{"127.0.0.1:8443", "ssl", "http2"}, "127.0.0.1:8443", 8443, true, false},
		{"http", []string{"[::]:443", "ssl", "ipv6only=on"}, "[::]:443", 443, true, false},
		{"http", []string{"[::1]"}, "[::1]:80", 80, false, false},
		{"http", []string{"example.com"}, "example.com:80", 80, false, false},
		{"http", []string{"443", "quic", "reuseport"}, "*:443/quic", 443, true, false},
		{"http", []string{"80", "default"}, "*:80", 80, false, true},
		{"stream", []string{"12345", "ssl"}, "*:12345", 12345, true, false},
		{"http", []string{"unix:/run/x.sock", "ssl"}, "unix:/run/x.sock", 0, true, false},
	}
	for _, tt := range tests {
		l := parseListen(tt.module, tt.args)
		if l.addr != tt.addr || l.port != tt.port || l.ssl != tt.ssl || l.def != tt.def {
			t.Errorf("parseListen(%q, %q) = %+v, want addr %s port %d ssl %v def %v", tt.module, tt.args, l, tt.addr, tt.port, tt.ssl, tt.def)
		}
	}
}
