package nginx

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsfloor/tlsfloor/audit"
)

// summary renders findings as "id file:line severity [protocols] affects=N"
// lines, sorted, so a case can state exactly what it expects.
func summary(fs []audit.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s:%d %s [%s] affects=%d", f.ID, strings.TrimPrefix(f.File, "/etc/nginx/"), f.Line, f.Severity, f.Protocols, len(f.Affects)))
	}
	sort.Strings(out)
	return out
}

// servers renders servers as "file:line effective/source".
func servers(a *Analysis) []string {
	var out []string
	for _, s := range a.Servers {
		from := "-"
		if s.EffectiveFrom != nil {
			from = fmt.Sprintf("%s:%d", strings.TrimPrefix(s.EffectiveFrom.File, "/etc/nginx/"), s.EffectiveFrom.Line)
		}
		out = append(out, fmt.Sprintf("%s %s:%d [%s] %s from %s", s.Kind, strings.TrimPrefix(s.File, "/etc/nginx/"), s.Line, s.Effective, s.EffectiveSource, from))
	}
	return out
}

const conf = "/etc/nginx/nginx.conf"

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		version  string
		openssl  string
		min      audit.Protocol
		servers  []string
		proxies  []string
		findings []string
	}{
		{
			name: "http level inherited by server",
			files: map[string]string{conf: `events {}
http {
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    server {
        listen 443 ssl;
        server_name a.test;
    }
}
`},
			version: "1.22.1",
			servers: []string{"http server nginx.conf:4 [TLSv1.0 TLSv1.1 TLSv1.2] inherited from nginx.conf:3"},
			findings: []string{
				"legacy-protocol-enabled nginx.conf:3 high [TLSv1.0 TLSv1.1] affects=1",
			},
		},
		{
			name: "server level replaces http level",
			files: map[string]string{conf: `http {
    ssl_protocols TLSv1 TLSv1.2;
    server {
        listen 443 ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
    }
}
`},
			version: "1.22.1",
			servers: []string{"http server nginx.conf:3 [TLSv1.2 TLSv1.3] directive from nginx.conf:5"},
			findings: []string{
				"legacy-protocol-enabled nginx.conf:2 high [TLSv1.0] affects=0",
			},
		},
		{
			name: "two lines in one block are OR-ed, tokens case-insensitive",
			files: map[string]string{conf: `http {
    server {
        listen 443 ssl;
        ssl_protocols tlsv1.3;
        ssl_protocols TLSV1;
    }
}
`},
			version: "1.24.0",
			servers: []string{"http server nginx.conf:2 [TLSv1.0 TLSv1.3] directive from nginx.conf:4"},
			findings: []string{
				"legacy-protocol-enabled nginx.conf:5 high [TLSv1.0] affects=1",
				"tls12-missing nginx.conf:4 high [TLSv1.0 TLSv1.3] affects=1",
			},
		},
		{
			name: "a directive after the server block still applies (merge after the block)",
			files: map[string]string{conf: `http {
    server {
        listen 443 ssl;
    }
    ssl_protocols TLSv1.2;
}
`},
			version: "1.22.1",
			servers: []string{"http server nginx.conf:2 [TLSv1.2] inherited from nginx.conf:5"},
		},
		{
			name: "built-in default by version, only for TLS servers",
			files: map[string]string{conf: `http {
    server { listen 80; }
    server { listen 443 ssl; }
}
`},
			version: "1.22.1",
			servers: []string{"http server nginx.conf:3 [TLSv1.0 TLSv1.1 TLSv1.2] default from -"},
			findings: []string{
				"legacy-protocol-default nginx.conf:3 high [TLSv1.0 TLSv1.1] affects=1",
			},
		},
		{
			name: "new default has no legacy",
			files: map[string]string{conf: `http {
    server { listen 443 ssl; }
}
`},
			version: "1.28.0",
			servers: []string{"http server nginx.conf:2 [TLSv1.2 TLSv1.3] default from -"},
		},
		{
			name: "unknown version assumes SSLv3 default: critical",
			files: map[string]string{conf: `http {
    server { listen 443 ssl; }
}
`},
			servers: []string{"http server nginx.conf:2 [SSLv3 TLSv1.0 TLSv1.1 TLSv1.2] default from -"},
			findings: []string{
				"legacy-protocol-default nginx.conf:2 critical [SSLv3 TLSv1.0 TLSv1.1] affects=1",
			},
		},
		{
			name: "OpenSSL 3 refuses TLS 1.0/1.1 at security level >= 1: medium",
			files: map[string]string{conf: `http {
    ssl_protocols TLSv1 TLSv1.2 TLSv1.3;
    server { listen 443 ssl; }
}
`},
			version: "1.22.1", openssl: "OpenSSL 3.0.2 15 Mar 2022",
			servers:  []string{"http server nginx.conf:3 [TLSv1.0 TLSv1.2 TLSv1.3] inherited from nginx.conf:2"},
			findings: []string{"legacy-protocol-enabled nginx.conf:2 medium [TLSv1.0] affects=1"},
		},
		{
			name: "@SECLEVEL=0 in ssl_ciphers turns it back on: high",
			files: map[string]string{conf: `http {
    ssl_protocols TLSv1 TLSv1.2 TLSv1.3;
    server { listen 443 ssl; ssl_ciphers DEFAULT:@SECLEVEL=0; }
}
`},
			version: "1.22.1", openssl: "OpenSSL 3.0.2 15 Mar 2022",
			servers:  []string{"http server nginx.conf:3 [TLSv1.0 TLSv1.2 TLSv1.3] inherited from nginx.conf:2"},
			findings: []string{"legacy-protocol-enabled nginx.conf:2 high [TLSv1.0] affects=1"},
		},
		{
			name: "OpenSSL 1.1.1 does not block legacy, TLS 1.3 available",
			files: map[string]string{conf: `http {
    ssl_protocols TLSv1.1 TLSv1.2;
    server { listen 443 ssl; }
}
`},
			version: "1.18.0", openssl: "OpenSSL 1.1.1f  31 Mar 2020",
			servers: []string{"http server nginx.conf:3 [TLSv1.1 TLSv1.2] inherited from nginx.conf:2"},
			findings: []string{
				"legacy-protocol-enabled nginx.conf:2 high [TLSv1.1] affects=1",
				"tls13-available nginx.conf:2 low [TLSv1.3] affects=1",
			},
		},
		{
			name: "SNI caveat: the default server decides before 1.29.2",
			files: map[string]string{conf: `http {
    server {
        listen 443 ssl;
        server_name a.test;
        ssl_protocols TLSv1.2;
    }
    server {
        listen 443 ssl default_server;
        server_name b.test;
        ssl_protocols TLSv1 TLSv1.2;
    }
    server {
        listen 443 ssl;
        server_name c.test;
    }
}
`},
			version: "1.22.1",
			servers: []string{
				"http server nginx.conf:2 [TLSv1.0 TLSv1.2] directive from nginx.conf:10",
				"http server nginx.conf:7 [TLSv1.0 TLSv1.2] directive from nginx.conf:10",
				"http server nginx.conf:12 [TLSv1.0 TLSv1.2] directive from nginx.conf:10",
			},
			findings: []string{
				"directive-no-effect nginx.conf:5 medium [TLSv1.2] affects=1",
				"legacy-protocol-enabled nginx.conf:10 high [TLSv1.0] affects=3",
			},
		},
		{
			name: "SNI per server from 1.29.2 with OpenSSL 3",
			files: map[string]string{conf: `http {
    server {
        listen 443 ssl;
        ssl_protocols TLSv1.2;
    }
    server {
        listen 443 ssl default_server;
        ssl_protocols TLSv1 TLSv1.2;
    }
}
`},
			version: "1.29.2", openssl: "OpenSSL 3.5.1 1 Jul 2025",
			servers: []string{
				"http server nginx.conf:2 [TLSv1.2] directive from nginx.conf:4",
				"http server nginx.conf:6 [TLSv1.0 TLSv1.2] directive from nginx.conf:8",
			},
			findings: []string{
				"legacy-protocol-enabled nginx.conf:8 medium [TLSv1.0] affects=1",
				"tls13-available nginx.conf:4 low [TLSv1.3] affects=1",
				"tls13-available nginx.conf:8 low [TLSv1.3] affects=1",
			},
		},
		{
			name: "first declared server is the default; other addresses are separate",
			files: map[string]string{conf: `http {
    server { listen 127.0.0.1:8443 ssl; ssl_protocols TLSv1.2; }
    server { listen 127.0.0.1:8443 ssl; ssl_protocols TLSv1.3; }
    server { listen 8443 ssl; ssl_protocols TLSv1.3; }
}
`},
			version: "1.24.0",
			servers: []string{
				"http server nginx.conf:2 [TLSv1.2] directive from nginx.conf:2",
				"http server nginx.conf:3 [TLSv1.2] directive from nginx.conf:2",
				"http server nginx.conf:4 [TLSv1.3] directive from nginx.conf:4",
			},
			findings: []string{
				"directive-no-effect nginx.conf:3 medium [TLSv1.3] affects=1",
				"tls12-missing nginx.conf:4 high [TLSv1.3] affects=1",
			},
		},
		{
			name: "policy 1.3: TLS 1.2 is legacy, tls12-missing not raised for 1.3-only",
			files: map[string]string{conf: `http {
    server { listen 443 ssl; ssl_protocols TLSv1.2 TLSv1.3; }
    server { listen 8443 ssl; ssl_protocols TLSv1.3; }
}
`},
			version: "1.24.0", min: audit.TLS13,
			servers: []string{
				"http server nginx.conf:2 [TLSv1.2 TLSv1.3] directive from nginx.conf:2",
				"http server nginx.conf:3 [TLSv1.3] directive from nginx.conf:3",
			},
			findings: []string{"legacy-protocol-enabled nginx.conf:2 medium [TLSv1.2] affects=1"},
		},
		{
			name: "ssl on and quic make a server TLS; ssl on is inherited from http",
			files: map[string]string{conf: `http {
    ssl on;
    ssl_protocols TLSv1.2 TLSv1.3;
    server { listen 8080; }
    server { listen 443 quic; ssl off; }
}
`},
			version: "1.24.0",
			servers: []string{
				"http server nginx.conf:4 [TLSv1.2 TLSv1.3] inherited from nginx.conf:3",
				"http server nginx.conf:5 [TLSv1.2 TLSv1.3] inherited from nginx.conf:3",
			},
		},
		{
			name: "stream and mail",
			files: map[string]string{conf: `stream {
    ssl_protocols TLSv1.2;
    server { listen 12345 ssl; proxy_pass 127.0.0.1:1; }
}
mail {
    ssl_protocols TLSv1 SSLv3;
    server { listen 993 ssl; protocol imap; }
    server { listen 143; protocol imap; starttls on; }
    server { listen 110; protocol pop3; }
}
`},
			version: "1.22.1",
			servers: []string{
				"stream server nginx.conf:3 [TLSv1.2] inherited from nginx.conf:2",
				"mail server nginx.conf:7 [SSLv3 TLSv1.0] inherited from nginx.conf:6",
				"mail server nginx.conf:8 [SSLv3 TLSv1.0] inherited from nginx.conf:6",
			},
			findings: []string{
				"legacy-protocol-enabled nginx.conf:6 critical [SSLv3 TLSv1.0] affects=2",
				"tls12-missing nginx.conf:6 high [SSLv3 TLSv1.0] affects=2",
			},
		},
		{
			name: "proxy family: inheritance to location, defaults only for TLS upstreams",
			files: map[string]string{conf: `http {
    proxy_ssl_protocols TLSv1 TLSv1.2;
    server {
        listen 80;
        location /a { proxy_pass https://backend; }
        location /b { proxy_pass http://backend; }
        location /c {
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            location /c/d { if ($x) { proxy_pass https://other; } }
        }
        location /g { grpc_pass grpcs://127.0.0.1:9000; }
        location /u { uwsgi_pass suwsgi://127.0.0.1:9001; uwsgi_ssl_protocols TLSv1.1 TLSv1.2; }
    }
}
stream {
    server { listen 5000; proxy_ssl on; proxy_pass 127.0.0.1:5001; }
}
`},
			version: "1.24.0",
			proxies: []string{
				"proxy nginx.conf:5 location /a -> https://backend [TLSv1.0 TLSv1.2] inherited",
				"proxy nginx.conf:9 location /c/d -> https://other [TLSv1.2 TLSv1.3] inherited",
				"grpc proxy nginx.conf:11 location /g -> grpcs://127.0.0.1:9000 [TLSv1.0 TLSv1.1 TLSv1.2 TLSv1.3] default",
				"uwsgi proxy nginx.conf:12 location /u -> suwsgi://127.0.0.1:9001 [TLSv1.1 TLSv1.2] directive",
				"stream proxy nginx.conf:16 server *:5000 -> 127.0.0.1:5001 [TLSv1.0 TLSv1.1 TLSv1.2 TLSv1.3] default",
			},
			findings: []string{
				"legacy-protocol-default nginx.conf:11 high [TLSv1.0 TLSv1.1] affects=1",
				"legacy-protocol-default nginx.conf:16 high [TLSv1.0 TLSv1.1] affects=1",
				"legacy-protocol-enabled nginx.conf:12 high [TLSv1.1] affects=1",
				"legacy-protocol-enabled nginx.conf:2 high [TLSv1.0] affects=1",
			},
		},
		{
			name: "ssl_conf_command MinProtocol removes legacy: low with a note",
			files: map[string]string{conf: `http {
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_conf_command MinProtocol TLSv1.2;
    server { listen 443 ssl; }
}
`},
			version: "1.22.1",
			servers: []string{"http server nginx.conf:4 [TLSv1.0 TLSv1.1 TLSv1.2] inherited from nginx.conf:2"},
			findings: []string{
				"legacy-protocol-enabled nginx.conf:2 low [TLSv1.0 TLSv1.1] affects=1",
			},
		},
		{
			name: "text in comments, quoted strings and Lua blocks is never a finding",
			files: map[string]string{conf: `http {
    # ssl_protocols SSLv3;
    ssl_protocols TLSv1.2 TLSv1.3; # not SSLv3 TLSv1
    log_format tls '$ssl_protocol ssl_protocols TLSv1;';
    map $ssl_protocol $legacy { TLSv1 1; ssl_protocols 1; default 0; }
    server {
        listen 443 ssl;
        location / {
            content_by_lua_block {
                ngx.say("ssl_protocols SSLv3;") -- ssl_protocols TLSv1;
                local t = { ssl_protocols = "SSLv2" }
            }
        }
    }
}
`},
			version: "1.24.0",
			servers: []string{"http server nginx.conf:6 [TLSv1.2 TLSv1.3] inherited from nginx.conf:3"},
		},
		{
			name: "a snippet included in two servers is one finding with both contexts",
			files: map[string]string{
				conf: `http {
    include /etc/nginx/sites-enabled/*;
}
`,
				"/etc/nginx/snippets/ssl.conf":     "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n",
				"/etc/nginx/sites-enabled/a":       "server { listen 443 ssl; server_name a; include snippets/ssl.conf; }\n",
				"/etc/nginx/sites-enabled/b":       "server { listen 8443 ssl; server_name b; include snippets/ssl.conf; }\n",
				"/etc/nginx/sites-enabled/.hidden": "server { listen 9443 ssl; ssl_protocols SSLv3; }\n",
			},
			version: "1.22.1",
			servers: []string{
				"http server sites-enabled/a:1 [TLSv1.0 TLSv1.1 TLSv1.2] directive from snippets/ssl.conf:1",
				"http server sites-enabled/b:1 [TLSv1.0 TLSv1.1 TLSv1.2] directive from snippets/ssl.conf:1",
			},
			findings: []string{
				"legacy-protocol-enabled snippets/ssl.conf:1 high [TLSv1.0 TLSv1.1] affects=2",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := analyzeTree(t, tt.files, tt.version, tt.openssl, tt.min)
			if diff := cmp.Diff(tt.servers, servers(a)); diff != "" {
				t.Errorf("servers (-want +got):\n%s", diff)
			}
			if tt.proxies != nil {
				var got []string
				for _, c := range a.Component.Contexts {
					if strings.Contains(c.Kind, "proxy") {
						got = append(got, fmt.Sprintf("%s nginx.conf:%d %s [%s] %s", c.Kind, c.Line, c.Name, c.Protocols, c.Source))
					}
				}
				if diff := cmp.Diff(tt.proxies, got); diff != "" {
					t.Errorf("proxy contexts (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.findings, summary(a.Findings)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// nginx accepts TLSv1.3 with OpenSSL 1.0.2 and skips it; the report keeps
// the configured set, explains, and does not suggest TLS 1.3.
func TestLibraryLacksTLS13(t *testing.T) {
	a := analyzeTree(t, map[string]string{conf: "http { ssl_protocols TLSv1.2 TLSv1.3; server { listen 443 ssl; } }\n"},
		"1.14.2", "OpenSSL 1.0.2k-fips  26 Jan 2017", 0)
	if len(a.Servers) != 1 || a.Servers[0].Effective != set(audit.TLS12, audit.TLS13) {
		t.Fatalf("servers %+v", a.Servers)
	}
	if note := a.Component.Contexts[0].Note; !strings.Contains(note, "OpenSSL 1.0.2k FIPS cannot negotiate TLSv1.3") {
		t.Errorf("note %q", note)
	}
	for _, f := range a.Findings {
		if f.ID == audit.RuleTLS13Available {
			t.Errorf("tls13-available with OpenSSL 1.0.2: %+v", f)
		}
	}
}
