package apache

import (
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

func TestParseProtocol(t *testing.T) {
	const (
		v10 = audit.TLS10
		v11 = audit.TLS11
		v12 = audit.TLS12
		v13 = audit.TLS13
	)
	tests := []struct {
		name    string
		httpd   string
		lib     string
		args    string
		want    audit.ProtocolSet
		eff     audit.ProtocolSet // effective after closing holes
		wantErr string
	}{
		{name: "all modern", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "all", want: audit.Set(v10, v11, v12, v13), eff: audit.Set(v10, v11, v12, v13)},
		{name: "all -SSLv3 on 3.0 (no SSLv3 compiled)", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "all -SSLv3", want: audit.Set(v10, v11, v12, v13), eff: audit.Set(v10, v11, v12, v13)},
		{name: "all on 1.0.2 has SSLv3, no 1.3", httpd: "2.4.62", lib: "OpenSSL 1.0.2k", args: "all", want: audit.Set(audit.SSLv3, v10, v11, v12), eff: audit.Set(audit.SSLv3, v10, v11, v12)},
		{name: "all on 1.0.0 stops at TLSv1", httpd: "2.4.10", lib: "OpenSSL 1.0.0t", args: "all", want: audit.Set(audit.SSLv3, v10), eff: audit.Set(audit.SSLv3, v10)},
		{name: "all on 1.1.0 no 1.3", httpd: "2.4.62", lib: "OpenSSL 1.1.0l", args: "ALL", want: audit.Set(v10, v11, v12), eff: audit.Set(v10, v11, v12)},
		{name: "all with old httpd no 1.3", httpd: "2.4.35", lib: "OpenSSL 1.1.1w", args: "all", want: audit.Set(v10, v11, v12), eff: audit.Set(v10, v11, v12)},
		{name: "bare replaces", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "TLSv1.2 TLSv1.3", want: audit.Set(v13), eff: audit.Set(v13)},
		{name: "minus all plus", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "-all +TLSv1.2 +TLSv1.3", want: audit.Set(v12, v13), eff: audit.Set(v12, v13)},
		{name: "leading minus on empty set", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "-TLSv1 +TLSv1.2", want: audit.Set(v12), eff: audit.Set(v12)},
		{name: "case insensitive", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "ALL -tlsv1 -TLSV1.1", want: audit.Set(v12, v13), eff: audit.Set(v12, v13)},
		{name: "hole closed from the top", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "-all +TLSv1 +TLSv1.2", want: audit.Set(v10, v12), eff: audit.Set(v12)},
		{name: "hole below 1.3", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "all -TLSv1.2", want: audit.Set(v10, v11, v13), eff: audit.Set(v13)},
		{name: "holes kept on 1.0.2 (SSL_OP_NO flags)", httpd: "2.4.62", lib: "OpenSSL 1.0.2k", args: "-all +TLSv1 +TLSv1.2", want: audit.Set(v10, v12), eff: audit.Set(v10, v12)},
		{name: "-SSLv2 ignored", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "all -SSLv2 -SSLv3", want: audit.Set(v10, v11, v12, v13), eff: audit.Set(v10, v11, v12, v13)},
		{name: "SSLv2 refused", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "+SSLv2", wantErr: "SSLv2 is no longer supported"},
		{name: "SSLv3 refused without it", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "all +SSLv3", wantErr: "SSLv3 not supported"},
		{name: "SSLv3 on 1.0.2", httpd: "2.4.62", lib: "OpenSSL 1.0.2k", args: "-all +SSLv3 +TLSv1", want: audit.Set(audit.SSLv3, v10), eff: audit.Set(audit.SSLv3, v10)},
		{name: "TLSv1.3 needs 2.4.36", httpd: "2.4.35", lib: "OpenSSL 1.1.1w", args: "+TLSv1.3", wantErr: "Illegal protocol 'TLSv1.3'"},
		{name: "TLSv1.3 needs OpenSSL 1.1.1", httpd: "2.4.62", lib: "OpenSSL 1.1.0l", args: "TLSv1.3", wantErr: "Illegal protocol 'TLSv1.3'"},
		{name: "TLSv1.2 needs OpenSSL 1.0.1", httpd: "2.4.62", lib: "OpenSSL 1.0.0t", args: "TLSv1.2", wantErr: "Illegal protocol 'TLSv1.2'"},
		{name: "trailing comment is an error", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "all -SSLv3 # no", wantErr: "SSLProtocol: Illegal protocol '#'"},
		{name: "quoted string is one word", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "\x00-all +TLSv1.2", wantErr: "Illegal protocol 'all +TLSv1.2'"},
		{name: "unknown versions assume modern", args: "all", want: audit.Set(v10, v11, v12, v13), eff: audit.Set(v10, v11, v12, v13)},
		{name: "unknown library allows SSLv3 as configured", args: "+SSLv3 +TLSv1.2", want: audit.Set(audit.SSLv3, v12), eff: audit.Set(v12)},
		{name: "LibreSSL 3.8 has 1.3 and no holes", httpd: "2.4.62", lib: "LibreSSL 3.8.2", args: "-all +TLSv1.1 +TLSv1.3", want: audit.Set(v11, v13), eff: audit.Set(v13)},
		{name: "empty", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "", wantErr: "takes one or more arguments"},
		{name: "minus everything is empty", httpd: "2.4.62", lib: "OpenSSL 3.0.2", args: "-all", want: 0, eff: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Caps{HTTPD: sv(tt.httpd)}
			if tt.lib != "" {
				c.Library = mustLib(t, tt.lib)
			}
			var args []string
			if strings.HasPrefix(tt.args, "\x00") {
				args = []string{tt.args[1:]} // one quoted argument
			} else {
				args = strings.Fields(tt.args)
			}
			got, err := c.ParseProtocol("SSLProtocol", args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("set = %v, want %v", got, tt.want)
			}
			if e := c.Effective(got); e != tt.eff {
				t.Errorf("effective = %v, want %v", e, tt.eff)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	tests := []struct {
		httpd, lib string
		want       audit.ProtocolSet
	}{
		{"2.4.62", "OpenSSL 3.0.2", audit.Set(audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13)},
		{"2.4.16", "OpenSSL 1.0.2k", audit.Set(audit.TLS10, audit.TLS11, audit.TLS12)},
		{"2.4.10", "OpenSSL 1.0.2k", audit.Set(audit.SSLv3, audit.TLS10, audit.TLS11, audit.TLS12)},
		{"", "", audit.Set(audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13)},
	}
	for _, tt := range tests {
		c := Caps{HTTPD: sv(tt.httpd)}
		if tt.lib != "" {
			c.Library = mustLib(t, tt.lib)
		}
		if got := c.Default(); got != tt.want {
			t.Errorf("Default(%s, %s) = %v, want %v", tt.httpd, tt.lib, got, tt.want)
		}
	}
	_ = openssl.Version{}
}
