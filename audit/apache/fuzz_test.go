package apache

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// memFS is platform.FS over an fstest.MapFS (host paths without the
// leading slash), for fuzzing without touching the disk.
type memFS struct{ m fstest.MapFS }

func rel(name string) string {
	r := strings.TrimPrefix(path.Clean("/"+name), "/")
	if r == "" {
		return "."
	}
	return r
}

func (f memFS) ReadFile(name string) ([]byte, error)       { return f.m.ReadFile(rel(name)) }
func (f memFS) Stat(name string) (fs.FileInfo, error)      { return f.m.Stat(rel(name)) }
func (f memFS) Lstat(name string) (fs.FileInfo, error)     { return f.m.Stat(rel(name)) }
func (f memFS) ReadDir(name string) ([]fs.DirEntry, error) { return f.m.ReadDir(rel(name)) }
func (f memFS) Glob(pattern string) ([]string, error)      { return nil, errors.New("not used") }
func (f memFS) EvalSymlinks(name string) (string, error) {
	if _, err := f.m.Stat(rel(name)); err != nil {
		return "", err
	}
	return path.Clean("/" + name), nil
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SSLProtocol all -SSLv3\n",
		"<VirtualHost *:443>\nSSLEngine on\nSSLProtocol -all +TLSv1.2\n</VirtualHost>\n",
		"Define P \"-all +TLSv1.3\"\nSSLProtocol ${P}\n<IfDefine P>\nInclude conf.d/*.conf\n</IfDefine>\n",
		"<IfModule ssl_module>\n<IfVersion >= 2.4.36>\nSSLProtocol TLSv1.3\n</IfVersion>\n</IfModule>\n",
		"Include main.conf\n",
		"<Macro M $x>\nSSLProtocol $x\n</Macro>\nUse M all\n",
		"SSLEngine on\nSSLProxyEngine on\n<Proxy *>\nSSLProxyProtocol all\n</Proxy>\n",
		"<IfDirective !SSLProtocol>\nLoadModule ssl_module m.so\n</IfDirective>\n<IfSection VirtualHost>\nSSLProtocol all\n</IfSection>\n",
	} {
		f.Add([]byte(s))
	}
	for _, b := range corpusSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := memFS{fstest.MapFS{
			"a/main.conf":           {Data: src},
			"a/conf.d/one.conf":     {Data: []byte("SSLProtocol all\n<VirtualHost *:443>\nSSLEngine on\n</VirtualHost>\n")},
			"a/conf.d/sub/two.conf": {Data: []byte("SSLProxyProtocol -all +TLSv1.2\n")},
		}}
		cfg, err := Parse(fsys, "/a/main.conf", ParseOptions{Version: sv("2.4.62")})
		if err != nil {
			checkConfigError(t, err)
		} else {
			files := map[string]bool{}
			for _, f := range cfg.Files {
				files[f] = true
			}
			for _, d := range cfg.Directives {
				if d.Line < 1 || d.EndLine < d.Line || !files[d.File] {
					t.Fatalf("bad directive position %+v", d)
				}
			}
		}
		// The whole evaluation must not panic either.
		env := &audit.Env{FS: fsys, Policy: audit.DefaultPolicy(),
			Options: audit.Options{Root: "/fuzz", ApacheConf: "/a/main.conf"}}
		lib := &openssl.Library{Version: openssl.Version{Flavor: openssl.FlavorOpenSSL, Major: 3}}
		if _, err := analyze(context.Background(), env, lib); err != nil {
			checkConfigError(t, err)
		}
	})
}

func checkConfigError(t *testing.T, err error) {
	t.Helper()
	var ce *audit.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v is not a *audit.ConfigError", err, err)
	}
	if strings.ContainsAny(err.Error(), "\n") {
		t.Fatalf("error is not one line: %q", err.Error())
	}
}
