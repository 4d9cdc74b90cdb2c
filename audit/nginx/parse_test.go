package nginx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func render(ds []Directive) []string {
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s:%d/%d %s %s", filepath.Base(d.File), d.Line, d.Ordinal, strings.Join(d.Block, ">"), d))
	}
	return out
}

func TestParseDirectives(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{
		conf: `http { ssl_protocols TLSv1.2; include conf.d/*.conf; }
# ssl_protocols TLSv1;
stream { server { listen 1 ssl; } }
`,
		"/etc/nginx/conf.d/a.conf":   "server { listen 443 ssl; include snippets/x.conf; }\nserver { include snippets/x.conf; }\n",
		"/etc/nginx/snippets/x.conf": "ssl_protocols  \"TLSv1.3\"; # q\n",
	})
	ds, err := ParseDirectives(platform.NewOSFS(root), conf)
	if err != nil {
		t.Fatal(err)
	}
	// Files in include order, each once, directives in file order; the
	// block path of an included file's directive starts at its first
	// include site; ordinals count directives on the same line.
	want := []string{
		"nginx.conf:1/0  http",
		"nginx.conf:1/1 http ssl_protocols TLSv1.2",
		"nginx.conf:1/2 http include conf.d/*.conf",
		"nginx.conf:3/0  stream",
		"nginx.conf:3/1 stream server",
		"nginx.conf:3/2 stream>server listen 1 ssl",
		"a.conf:1/0 http server",
		"a.conf:1/1 http>server listen 443 ssl",
		"a.conf:1/2 http>server include snippets/x.conf",
		"a.conf:2/0 http server",
		"a.conf:2/1 http>server include snippets/x.conf",
		"x.conf:1/0 http>server ssl_protocols TLSv1.3",
	}
	if diff := cmp.Diff(want, render(ds)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseBytes(t *testing.T) {
	ds, err := ParseBytes("/etc/nginx/sites-enabled/a", []byte("server {\r\n  listen 443 ssl; ssl_protocols TLSv1.2 TLSv1.3;\r\n  include missing.conf;\r\n}\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a:1/0  server",
		"a:2/0 server listen 443 ssl",
		"a:2/1 server ssl_protocols TLSv1.2 TLSv1.3",
		"a:3/0 server include missing.conf",
	}
	if diff := cmp.Diff(want, render(ds)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, err = ParseBytes("/x.conf", []byte("server {\n"))
	if err == nil || !audit.IsConfigError(err) || err.Error() != `/x.conf:2: unexpected end of file, expecting "}"` {
		t.Errorf("err = %v", err)
	}
}

func TestApplyConfCommands(t *testing.T) {
	all := set(audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13)
	tests := []struct {
		cmds []confCmd
		want audit.ProtocolSet
	}{
		{[]confCmd{{name: "MinProtocol", value: "TLSv1.2"}}, set(audit.TLS12, audit.TLS13)},
		{[]confCmd{{name: "MaxProtocol", value: "TLSv1.2"}}, set(audit.TLS10, audit.TLS11, audit.TLS12)},
		{[]confCmd{{name: "Protocol", value: "-TLSv1, -TLSv1.1"}}, set(audit.TLS12, audit.TLS13)},
		{[]confCmd{{name: "Protocol", value: "-ALL,TLSv1.3"}}, set(audit.TLS13)},
		{[]confCmd{{name: "CipherString", value: "DEFAULT@SECLEVEL=0"}}, all},
		{[]confCmd{{name: "minprotocol", value: "None"}}, all},
	}
	for _, tt := range tests {
		got, _ := applyConfCommands(all, tt.cmds)
		if got != tt.want {
			t.Errorf("%+v: got %v, want %v", tt.cmds, got, tt.want)
		}
	}
}

// FuzzParseBytes: any input parses or fails with a one-line ConfigError;
// never a panic.
func FuzzParseBytes(f *testing.F) {
	for _, p := range []string{
		"testdata/golden/debian-sites.txtar",
		filepath.Join(corpusDir(), "crossplane-py/lua-block-tricky/nginx.conf"),
		filepath.Join(corpusDir(), "certbot-nginx-testdata/etc_nginx/edge_cases.conf"),
	} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("http { ssl_protocols TLSv1; server { listen 443 ssl; } }"))
	f.Add([]byte("a \"b\\\"c' {;}\n#"))
	f.Add([]byte("content_by_lua_block { -- it's {\n x = '--' }"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Blanking Lua comments keeps every byte offset and line break.
		b := blankLuaComments(data)
		if len(b) != len(data) {
			t.Fatalf("length %d -> %d", len(data), len(b))
		}
		for i := range data {
			if (data[i] == '\n') != (b[i] == '\n') || (b[i] != data[i] && b[i] != ' ') {
				t.Fatalf("byte %d: %q -> %q", i, data[i], b[i])
			}
		}
		_, err := ParseBytes("/f.conf", data)
		if err != nil && (!audit.IsConfigError(err) || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("bad error %T %q", err, err)
		}
	})
}
