package apache

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tlsfloor/tlsfloor/audit"
)

// protoLines renders every SSLProtocol directive as file:line-endline
// [active] args (raw) within sections.
func protoLines(cfg *Config) []string {
	var out []string
	for _, d := range cfg.Directives {
		if !strings.EqualFold(d.Name, "SSLProtocol") {
			continue
		}
		var secs []string
		for _, s := range d.Sections {
			a := "+"
			if !s.Active {
				a = "-"
			}
			secs = append(secs, fmt.Sprintf("%s%s(%s)", a, s.Name, strings.Join(s.Args, ",")))
		}
		act := "active"
		if !d.Active {
			act = "inactive"
		}
		s := fmt.Sprintf("%s:%d-%d %s [%s]", d.File, d.Line, d.EndLine, act, strings.Join(d.Args, ","))
		if strings.Join(d.RawArgs, ",") != strings.Join(d.Args, ",") {
			s += " raw[" + strings.Join(d.RawArgs, ",") + "]"
		}
		if len(secs) > 0 {
			s += " in " + strings.Join(secs, " ")
		}
		out = append(out, s)
	}
	return out
}

func TestParseConditionals(t *testing.T) {
	fsys, _ := writeTree(t, map[string]string{"/etc/httpd/conf/httpd.conf": `
<IfModule ssl_module>
SSLProtocol before-load
</IfModule>
LoadModule ssl_module modules/mod_ssl.so
<IfModule mod_ssl.c>
  SSLProtocol modc
</IfModule>
<ifmodule !ssl_module>
  SSLProtocol negated
</IFMODULE>
<IfModule core.c>
  <IfModule mod_version.c>
    SSLProtocol static
  </IfModule>
</IfModule>
<IfModule mod_nothere.c>
  <VirtualHost *:443>
    SSLProtocol deep
  </VirtualHost>
</IfModule>
Define SSL
<IfDefine SSL>
  <IfDefine !NOPE>
    SSLProtocol defined
  </IfDefine>
</IfDefine>
<IfDefine CMDLINE>
SSLProtocol cmdline
</IfDefine>
UnDefine SSL
<IfDefine SSL>
SSLProtocol undefined
</IfDefine>
<IfVersion >= 2.4.36>
SSLProtocol v-ge
</IfVersion>
<IfVersion < 2.4>
SSLProtocol v-lt
</IfVersion>
<IfVersion !~ ^2\.2>
SSLProtocol v-notregex
</IfVersion>
<IfVersion 2.4>
SSLProtocol v-eq-partial
</IfVersion>
`})
	cfg, err := Parse(fsys, "/etc/httpd/conf/httpd.conf", ParseOptions{Version: sv("2.4.62"), Defines: map[string]string{"CMDLINE": ""}})
	if err != nil {
		t.Fatal(err)
	}
	f := "/etc/httpd/conf/httpd.conf"
	want := []string{
		f + ":3-3 inactive [before-load] in -IfModule(ssl_module)",
		f + ":7-7 active [modc] in +IfModule(mod_ssl.c)",
		f + ":10-10 inactive [negated] in -ifmodule(!ssl_module)",
		f + ":14-14 active [static] in +IfModule(core.c) +IfModule(mod_version.c)",
		f + ":19-19 inactive [deep] in -IfModule(mod_nothere.c) +VirtualHost(*:443)",
		f + ":25-25 active [defined] in +IfDefine(SSL) +IfDefine(!NOPE)",
		f + ":29-29 active [cmdline] in +IfDefine(CMDLINE)",
		f + ":33-33 inactive [undefined] in -IfDefine(SSL)",
		f + ":36-36 active [v-ge] in +IfVersion(>=,2.4.36)",
		f + ":39-39 inactive [v-lt] in -IfVersion(<,2.4)",
		f + ":42-42 active [v-notregex] in +IfVersion(!~,^2\\.2)",
		f + ":45-45 active [v-eq-partial] in +IfVersion(2.4)",
	}
	if d := cmp.Diff(want, protoLines(cfg)); d != "" {
		t.Errorf("directives (-want +got):\n%s", d)
	}
	if cfg.ServerRoot != "/etc/httpd" {
		t.Errorf("ServerRoot = %q, want /etc/httpd (parent of conf/)", cfg.ServerRoot)
	}
	if cfg.Modules["ssl_module"] != "modules/mod_ssl.so" {
		t.Errorf("Modules = %v", cfg.Modules)
	}
}

// <IfDirective> and <IfSection> hold when a module loaded so far (or the
// core) registers the name, case-insensitively; a name no known module
// registers keeps the contents, with a note.
func TestParseIfDirectiveIfSection(t *testing.T) {
	fsys, _ := writeTree(t, map[string]string{"/etc/apache2/apache2.conf": `
<IfDirective SSLProtocol>
SSLProtocol before-load
</IfDirective>
<IfDirective !SSLProtocol>
SSLProtocol not-yet
</IfDirective>
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
<IfDirective sslprotocol>
SSLProtocol loaded
</IfDirective>
<IfDirective ProxyPass>
SSLProtocol proxy-absent
</IfDirective>
<IfSection VirtualHost>
SSLProtocol core-section
</IfSection>
<IfSection !virtualhost>
SSLProtocol core-section-negated
</IfSection>
<IfSection Proxy>
SSLProtocol proxy-section-absent
</IfSection>
<IfDirective ServerName>
SSLProtocol core-directive
</IfDirective>
<IfSection SSLProtocol>
SSLProtocol directive-as-section
</IfSection>
<IfDirective SecRuleEngine>
SSLProtocol third-party
</IfDirective>
<IfDirective !SecRuleEngine>
SSLProtocol third-party-negated
</IfDirective>
`})
	cfg, err := Parse(fsys, "/etc/apache2/apache2.conf", ParseOptions{Version: sv("2.4.62")})
	if err != nil {
		t.Fatal(err)
	}
	f := "/etc/apache2/apache2.conf"
	want := []string{
		f + ":3-3 inactive [before-load] in -IfDirective(SSLProtocol)",
		f + ":6-6 active [not-yet] in +IfDirective(!SSLProtocol)",
		f + ":10-10 active [loaded] in +IfDirective(sslprotocol)",
		f + ":13-13 inactive [proxy-absent] in -IfDirective(ProxyPass)",
		f + ":16-16 active [core-section] in +IfSection(VirtualHost)",
		f + ":19-19 inactive [core-section-negated] in -IfSection(!virtualhost)",
		f + ":22-22 inactive [proxy-section-absent] in -IfSection(Proxy)",
		f + ":25-25 active [core-directive] in +IfDirective(ServerName)",
		f + ":28-28 inactive [directive-as-section] in -IfSection(SSLProtocol)",
		f + ":31-31 active [third-party] in +IfDirective(SecRuleEngine)",
		f + ":34-34 active [third-party-negated] in +IfDirective(!SecRuleEngine)",
	}
	if d := cmp.Diff(want, protoLines(cfg)); d != "" {
		t.Errorf("directives (-want +got):\n%s", d)
	}
	notes := strings.Join(cfg.Notes, "\n")
	if !strings.Contains(notes, `<IfDirective SecRuleEngine>: no module tlsfloor knows registers "SecRuleEngine"`) {
		t.Errorf("notes %q lack the unknown-name note", cfg.Notes)
	}
	if strings.Contains(notes, "SSLProtocol>") || strings.Contains(notes, "VirtualHost>") {
		t.Errorf("notes %q mention names the table knows", cfg.Notes)
	}
	// Where mod_version is a loadable module (Red Hat), <IfVersion> exists
	// only once it is loaded.
	rh, _ := writeTree(t, map[string]string{"/etc/httpd/conf/httpd.conf": `
<IfSection IfVersion>
SSLProtocol before
</IfSection>
LoadModule version_module modules/mod_version.so
<IfSection IfVersion>
SSLProtocol after
</IfSection>
`})
	cfg, err = Parse(rh, "/etc/httpd/conf/httpd.conf", ParseOptions{StaticModules: []string{"core.c", "mod_so.c", "http_core.c"}})
	if err != nil {
		t.Fatal(err)
	}
	rf := "/etc/httpd/conf/httpd.conf"
	if d := cmp.Diff([]string{
		rf + ":3-3 inactive [before] in -IfSection(IfVersion)",
		rf + ":7-7 active [after] in +IfSection(IfVersion)",
	}, protoLines(cfg)); d != "" {
		t.Errorf("static modules without mod_version (-want +got):\n%s", d)
	}
	bad, _ := writeTree(t, map[string]string{"/etc/apache2/apache2.conf": "<IfDirective>\nSSLProtocol x\n</IfDirective>\n"})
	if _, err := Parse(bad, "/etc/apache2/apache2.conf", ParseOptions{}); err == nil || !strings.Contains(err.Error(), "apache2.conf:1: <IfDirective> needs an argument") {
		t.Errorf("empty <IfDirective>: err = %v", err)
	}
}

func TestParseIfVersionUnknown(t *testing.T) {
	fsys, _ := writeTree(t, map[string]string{"/etc/apache2/apache2.conf": "<IfVersion < 2.0>\nSSLProtocol x\n</IfVersion>\n"})
	cfg, err := Parse(fsys, "/etc/apache2/apache2.conf", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := protoLines(cfg); len(got) != 1 || !strings.Contains(got[0], " active ") {
		t.Errorf("unknown version should take <IfVersion> as true: %v", got)
	}
	if !strings.Contains(strings.Join(cfg.Notes, "\n"), "<IfVersion> sections are taken as true") {
		t.Errorf("notes %q lack the IfVersion assumption", cfg.Notes)
	}
}

func TestParseDefineAndVars(t *testing.T) {
	fsys, _ := writeTree(t, map[string]string{"/srv/apache2.conf": `Define P "-all +TLSv1.2"
SSLProtocol ${P}
SSLProtocol "${P}"
SSLProtocol ${UNDEFINED} +TLSv1.3
SSLProtocol ${APACHE_PROTO}
Define APACHE_PROTO fromdefine
SSLProtocol ${APACHE_PROTO}
SSLProtocol \
  ${P} \
  +TLSv1.3
`})
	cfg, err := Parse(fsys, "/srv/apache2.conf", ParseOptions{Env: map[string]string{"APACHE_PROTO": "fromenv"}})
	if err != nil {
		t.Fatal(err)
	}
	f := "/srv/apache2.conf"
	want := []string{
		f + ":2-2 active [-all,+TLSv1.2] raw[${P}]",
		f + ":3-3 active [-all +TLSv1.2] raw[${P}]",
		f + ":4-4 active [${UNDEFINED},+TLSv1.3]",
		f + ":5-5 active [fromenv] raw[${APACHE_PROTO}]",
		f + ":7-7 active [fromdefine] raw[${APACHE_PROTO}]",
		f + ":8-10 active [-all,+TLSv1.2,+TLSv1.3] raw[${P},+TLSv1.3]",
	}
	if d := cmp.Diff(want, protoLines(cfg)); d != "" {
		t.Errorf("directives (-want +got):\n%s", d)
	}
	if cfg.Defines["P"] != "-all +TLSv1.2" || cfg.Defines["APACHE_PROTO"] != "fromdefine" {
		t.Errorf("Defines = %v", cfg.Defines)
	}
	if !strings.Contains(strings.Join(cfg.Notes, "\n"), "${UNDEFINED} is not defined") {
		t.Errorf("notes %q lack the undefined variable", cfg.Notes)
	}
}

func TestParseIncludes(t *testing.T) {
	files := map[string]string{
		"/etc/apache2/apache2.conf": `Include base.conf
IncludeOptional missing.conf
IncludeOptional nothing/*.conf
IncludeOptional conf.d/
Include mods-enabled/*.conf
Include /etc/apache2/sites-*/*.conf
ServerRoot /opt/other
Include rel.conf
`,
		"/etc/apache2/base.conf":                        "SSLProtocol base\n",
		"/etc/apache2/conf.d/b.conf":                    "SSLProtocol dir-b\n",
		"/etc/apache2/conf.d/a/z.conf":                  "SSLProtocol dir-a-z\n",
		"/etc/apache2/conf.d/.hidden":                   "SSLProtocol dir-hidden\n",
		"/etc/apache2/mods-available/ssl.conf":          "<IfModule core.c>\nSSLProtocol mod-ssl\n</IfModule>\n",
		"/etc/apache2/mods-enabled/ssl.conf":            "->../mods-available/ssl.conf",
		"/etc/apache2/mods-enabled/.skipped.conf":       "SSLProtocol hidden-glob\n",
		"/etc/apache2/sites-enabled/000-default.conf":   "<VirtualHost *:443>\nSSLProtocol site\n</VirtualHost>\n",
		"/etc/apache2/sites-available/default-ssl.conf": "SSLProtocol also-matched\n",
		"/opt/other/rel.conf":                           "SSLProtocol after-serverroot\n",
	}
	fsys, _ := writeTree(t, files)
	cfg, err := Parse(fsys, "/etc/apache2/apache2.conf", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range protoLines(cfg) {
		got = append(got, strings.Fields(l)[2])
	}
	want := []string{"[base]", "[dir-hidden]", "[dir-a-z]", "[dir-b]", "[mod-ssl]", "[also-matched]", "[site]", "[after-serverroot]"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("include order (-want +got):\n%s", d)
	}
	wantFiles := []string{"/etc/apache2/apache2.conf", "/etc/apache2/base.conf", "/etc/apache2/conf.d/.hidden",
		"/etc/apache2/conf.d/a/z.conf", "/etc/apache2/conf.d/b.conf", "/etc/apache2/mods-enabled/ssl.conf",
		"/etc/apache2/sites-available/default-ssl.conf", "/etc/apache2/sites-enabled/000-default.conf", "/opt/other/rel.conf"}
	if d := cmp.Diff(wantFiles, cfg.Files); d != "" {
		t.Errorf("Files (-want +got):\n%s", d)
	}
	if cfg.ServerRoot != "/opt/other" {
		t.Errorf("ServerRoot = %q", cfg.ServerRoot)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"include missing file", map[string]string{"/a/main.conf": "A\nInclude nope.conf\n"},
			"/a/main.conf:2: Include: could not open /a/nope.conf: no such file or directory"},
		{"include empty wildcard", map[string]string{"/a/main.conf": "Include conf.d/*.conf\n"},
			"/a/main.conf:1: Include: no matches for the wildcard pattern /a/conf.d/*.conf"},
		{"include empty wildcard in directory part", map[string]string{"/a/main.conf": "Include */x.conf\n"},
			"/a/main.conf:1: Include: no matches for the wildcard pattern /a/*/x.conf"},
		{"include cycle", map[string]string{"/a/main.conf": "Include b.conf\n", "/a/b.conf": "\nInclude c.conf\n", "/a/c.conf": "Include b.conf\n"},
			"/a/c.conf:1: include cycle: /a/b.conf -> /a/c.conf -> /a/b.conf"},
		{"include itself", map[string]string{"/a/main.conf": "IncludeOptional *.conf\n"},
			"/a/main.conf:1: include cycle: /a/main.conf -> /a/main.conf"},
		{"unterminated section", map[string]string{"/a/main.conf": "<VirtualHost *:443>\nSSLEngine on\n"},
			"/a/main.conf:1: <VirtualHost> was not closed"},
		{"section must close in its file", map[string]string{"/a/main.conf": "<VirtualHost *:443>\nInclude b.conf\n</VirtualHost>\n", "/a/b.conf": "</VirtualHost>\n"},
			"/a/b.conf:1: </VirtualHost> without matching <VirtualHost> section"},
		{"second closing tag on a line is ignored, as in httpd", map[string]string{"/a/main.conf": "<VirtualHost *:80>\n<Directory /tmp>\n</Directory> </VirtualHost>\n"},
			"/a/main.conf:1: <VirtualHost> was not closed"},
		{"stray closing tag", map[string]string{"/a/main.conf": "A\n</IfModule>\n"},
			"/a/main.conf:2: </IfModule> without matching <IfModule> section"},
		{"mismatched closing tag", map[string]string{"/a/main.conf": "<VirtualHost *:80>\n</Directory>\n"},
			"/a/main.conf:2: expected </VirtualHost> but saw </Directory>"},
		{"opener without >", map[string]string{"/a/main.conf": "<VirtualHost *:80\n</VirtualHost>\n"},
			"/a/main.conf:1: <VirtualHost> directive missing closing '>'"},
		{"unterminated quote in SSLProtocol", map[string]string{"/a/main.conf": "\nSSLProtocol \"-all +TLSv1.2\n"},
			"/a/main.conf:2: SSLProtocol: unterminated quoted string"},
		{"NUL byte", map[string]string{"/a/main.conf": "A\nB\x00\n"},
			"/a/main.conf:2: binary data (byte 0x00) in a config file"},
		{"binary in an include", map[string]string{"/a/main.conf": "Include mod.so\n", "/a/mod.so": "\x7fELF\x02\x01\x01\x00\x00"},
			"/a/mod.so:1: binary data (byte 0x02) in a config file"},
		{"main missing", map[string]string{"/a/other": "x"},
			"/a/main.conf: cannot read config: no such file or directory"},
		{"dangling symlink", map[string]string{"/a/main.conf": "Include sites/*.conf\n", "/a/sites/x.conf": "->../nowhere.conf"},
			"/a/main.conf:1: Include: no matches for the wildcard pattern /a/sites/*.conf"},
		{"Define with colon", map[string]string{"/a/main.conf": "Define a:b 1\n"},
			"/a/main.conf:1: Define: variable name must not contain ':'"},
		{"IfModule without argument", map[string]string{"/a/main.conf": "<IfModule>\n</IfModule>\n"},
			"/a/main.conf:1: <IfModule> needs an argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys, _ := writeTree(t, tt.files)
			_, err := Parse(fsys, "/a/main.conf", ParseOptions{})
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var ce *audit.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *audit.ConfigError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err.Error())
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	// What httpd accepts, tlsfloor must accept too.
	fsys, _ := writeTree(t, map[string]string{"/a/main.conf": `<IfModule mod_nothere.c>
  <Directory /x>
  </Files>
</IfModule>
ErrorDocument 404 "unterminated is fine here
<Macro Vhost $host>
  <VirtualHost *:443>
    SSLProtocol $proto
  </VirtualHost>
</Macro>
Use Vhost example.com
sslprotocol lower
`})
	cfg, err := Parse(fsys, "/a/main.conf", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/a/main.conf:8-8 inactive [$proto] in -Macro(Vhost,$host) +VirtualHost(*:443)",
		"/a/main.conf:12-12 active [lower]",
	}
	if d := cmp.Diff(want, protoLines(cfg)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestParseCRLF(t *testing.T) {
	fsys, _ := writeTree(t, map[string]string{"/a/main.conf": "<VirtualHost *:443>\r\n  SSLProtocol -all \\\r\n    +TLSv1.2\r\n</VirtualHost>\r\n"})
	cfg, err := Parse(fsys, "/a/main.conf", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/a/main.conf:2-3 active [-all,+TLSv1.2] in +VirtualHost(*:443)"}
	if d := cmp.Diff(want, protoLines(cfg)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
