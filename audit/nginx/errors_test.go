package nginx

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		version string
		want    string
	}{
		{"unterminated block", map[string]string{conf: "http {\n  server {\n    listen 443 ssl;\n"},
			"1.22.1", `/etc/nginx/nginx.conf:4: unexpected end of file, expecting "}"`},
		{"unterminated quote", map[string]string{conf: "http {\n  log_format x \"abc;\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:2: premature end of file`},
		{"missing semicolon", map[string]string{conf: "http {\n  server {\n    listen 80\n  }\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:3: directive "listen" is not terminated by ";"`},
		{"if without parentheses (crossplane's message ends in \" in parentheses\")", map[string]string{conf: "http {\n server {\n  if $x { return 404; }\n }\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:3: directive "if"'s is not enclosed in parentheses`},
		{"extra closing brace", map[string]string{conf: "http {\n}\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:3: unexpected "}"`},
		{"missing plain include", map[string]string{conf: "http {\n  include conf.d/missing.conf;\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:2: cannot read included file /etc/nginx/conf.d/missing.conf: no such file or directory`},
		{"include cycle", map[string]string{
			conf:                  "http {\n  include a.conf;\n}\n",
			"/etc/nginx/a.conf":   "# a\ninclude b.conf;\n",
			"/etc/nginx/b.conf":   "include a.conf;\n",
			"/etc/nginx/c.conf":   "",
			"/etc/nginx/x/d.conf": ""},
			"1.22.1", `/etc/nginx/b.conf:1: include cycle: /etc/nginx/a.conf -> /etc/nginx/b.conf -> /etc/nginx/a.conf`},
		{"include of itself", map[string]string{conf: "include nginx.conf;\n"},
			"1.22.1", `/etc/nginx/nginx.conf:1: include cycle: /etc/nginx/nginx.conf -> /etc/nginx/nginx.conf`},
		{"binary garbage", map[string]string{conf: "http {\n}\n\x7fELF\x02\x01\x01\x00\x00\x00"},
			"1.22.1", `/etc/nginx/nginx.conf:3: binary data (NUL byte) in nginx config`},
		{"byte order mark", map[string]string{conf: "\xef\xbb\xbfhttp {\n  ssl_protocols TLSv1;\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:1: UTF-8 byte order mark at the start of the file (nginx rejects it)`},
		{"UTF-16", map[string]string{conf: "h\x00t\x00t\x00p\x00"},
			"1.22.1", `/etc/nginx/nginx.conf:1: binary data (NUL byte) in nginx config`},
		{"unknown protocol token", map[string]string{conf: "http {\n  ssl_protocols TLSv1.2 TLSv1.0;\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:2: invalid value "TLSv1.0" in "ssl_protocols" directive`},
		{"IANA spelling is not an nginx token", map[string]string{conf: "stream {\n  proxy_ssl_protocols 1.2;\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:2: invalid value "1.2" in "proxy_ssl_protocols" directive`},
		{"ssl_protocols in a location", map[string]string{conf: "http {\n server {\n  location / {\n   ssl_protocols TLSv1.2;\n  }\n }\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:4: "ssl_protocols" directive is not allowed here`},
		{"ssl_protocols at the top level", map[string]string{conf: "ssl_protocols TLSv1.2;\n"},
			"1.22.1", `/etc/nginx/nginx.conf:1: "ssl_protocols" directive is not allowed here`},
		{"grpc_ssl_protocols in stream", map[string]string{conf: "stream {\n grpc_ssl_protocols TLSv1.2;\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:2: "grpc_ssl_protocols" directive is not allowed here`},
		{"no arguments", map[string]string{conf: "http {\n  ssl_protocols;\n}\n"},
			"1.22.1", `/etc/nginx/nginx.conf:2: invalid number of arguments in "ssl_protocols" directive`},
		{"TLSv1.3 before nginx 1.13.0", map[string]string{conf: "http {\n  ssl_protocols TLSv1.2 TLSv1.3;\n}\n"},
			"1.12.2", `/etc/nginx/nginx.conf:2: invalid value "TLSv1.3" in "ssl_protocols" directive: nginx 1.12.2 predates TLSv1.3 (1.13.0)`},
		{"error in an included file names that file", map[string]string{
			conf:                       "http {\n  include conf.d/*.conf;\n}\n",
			"/etc/nginx/conf.d/a.conf": "server {\n  listen 443 ssl;\n  ssl_protocols TLSv2;\n}\n"},
			"1.22.1", `/etc/nginx/conf.d/a.conf:3: invalid value "TLSv2" in "ssl_protocols" directive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := analyzeTreeErr(t, tt.files, tt.version, "", 0)
			if err == nil {
				t.Fatalf("Analyze succeeded, want error %q", tt.want)
			}
			if !audit.IsConfigError(err) {
				t.Errorf("error %T is not a *audit.ConfigError: %v", err, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %q\nwant %q", got, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// What parses: unknown (third-party) directives, Lua blocks, empty globs,
// hidden files excluded from globs, an empty file.
func TestAccepted(t *testing.T) {
	files := map[string]string{
		conf: `load_module modules/ngx_http_headers_more_filter_module.so;
http {
    include conf.d/*.conf;
    include empty.d/*;
    more_set_headers "Server: x";
    server {
        listen 443 ssl;
        some_third_party_directive on { nested block; }
        location / {
            access_by_lua_block { if x then ngx.exit(403) end }
            set_by_lua_block $res { return "}" }
        }
    }
}
`,
		"/etc/nginx/conf.d/.hidden.conf": "this is { not valid",
		"/etc/nginx/conf.d/empty.conf":   "",
	}
	a := analyzeTree(t, files, "1.22.1", "", 0)
	want := []string{"/etc/nginx/nginx.conf", "/etc/nginx/conf.d/empty.conf"}
	if strings.Join(a.Files, " ") != strings.Join(want, " ") {
		t.Errorf("Files = %q, want %q", a.Files, want)
	}
	if len(a.Servers) != 1 {
		t.Errorf("got %d TLS servers, want 1", len(a.Servers))
	}
}

// unreadableFS makes one file unreadable, for runs as root where chmod 000
// does not stop reads.
type unreadableFS struct {
	platform.FS
	path string
}

func (f unreadableFS) ReadFile(name string) ([]byte, error) {
	if name == f.path {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.FS.ReadFile(name)
}

func TestUnreadable(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{
		conf:                       "http {\n  include conf.d/*.conf;\n}\n",
		"/etc/nginx/conf.d/a.conf": "server { listen 443 ssl; }\n",
	})
	want := `/etc/nginx/nginx.conf:2: cannot read included file /etc/nginx/conf.d/a.conf: permission denied`

	t.Run("fake FS", func(t *testing.T) {
		env := testEnv(root, nil, audit.Options{NginxConf: conf, NginxVersion: "1.22.1"})
		env.FS = unreadableFS{FS: env.FS, path: "/etc/nginx/conf.d/a.conf"}
		_, err := Analyze(context.Background(), env)
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %s", err, want)
		}
		env.FS = unreadableFS{FS: platform.NewOSFS(root), path: conf}
		_, err = Analyze(context.Background(), env)
		if want := "/etc/nginx/nginx.conf: cannot read nginx config: permission denied"; err == nil || err.Error() != want {
			t.Fatalf("main unreadable: err = %v, want %s", err, want)
		}
	})
	t.Run("chmod 000", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: chmod 000 does not stop reads (the fake FS case covers it)")
		}
		p := filepath.Join(root, "etc/nginx/conf.d/a.conf")
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(p, 0o644) })
		env := testEnv(root, nil, audit.Options{NginxConf: conf, NginxVersion: "1.22.1"})
		_, err := Analyze(context.Background(), env)
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %s", err, want)
		}
	})
}

func TestMissingMainConfig(t *testing.T) {
	root := t.TempDir()
	env := testEnv(root, nil, audit.Options{NginxConf: "/etc/nginx/nginx.conf"})
	_, err := Analyze(context.Background(), env)
	want := "/etc/nginx/nginx.conf: cannot read nginx config: no such file or directory"
	if err == nil || err.Error() != want || !audit.IsConfigError(err) {
		t.Fatalf("err = %v, want %s", err, want)
	}
}
