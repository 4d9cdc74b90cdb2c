package apache

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

const rhelV = `Server version: Apache/2.4.37 (Red Hat Enterprise Linux)
Server built:   Nov 12 2025 10:00:00
Server's Module Magic Number: 20120211:83
 -D APR_HAS_SENDFILE
 -D HTTPD_ROOT="/etc/httpd"
 -D SUEXEC_BIN="/usr/sbin/suexec"
 -D SERVER_CONFIG_FILE="conf/httpd.conf"
`

// rhelL is Red Hat's `httpd -l`: everything else is a loadable module.
const rhelL = "Compiled in modules:\n  core.c\n  mod_so.c\n  http_core.c\n"

func TestParseL(t *testing.T) {
	if got := ParseL(debianL); !cmp.Equal(got, DefaultStaticModules()) {
		t.Errorf("ParseL(Debian) = %v", got)
	}
	for _, bad := range []string{"", "garbage\n", "Compiled in modules:\n  mod_so.c\n", "Usage: httpd [-D name] [-d directory] [-f file]\n"} {
		if got := ParseL(bad); got != nil {
			t.Errorf("ParseL(%q) = %v, want nil", bad, got)
		}
	}
}

func TestParseV(t *testing.T) {
	v := ParseV(rhelV)
	if v.Version.String() != "2.4.37" || v.HTTPDRoot != "/etc/httpd" || v.MainConfig() != "/etc/httpd/conf/httpd.conf" {
		t.Errorf("ParseV = %+v main %q", v, v.MainConfig())
	}
	abs := ParseV("Server version: Apache/2.4.62 (Unix)\n -D HTTPD_ROOT=\"/usr/local/apache2\"\n -D SERVER_CONFIG_FILE=\"/opt/etc/httpd.conf\"\n")
	if abs.MainConfig() != "/opt/etc/httpd.conf" {
		t.Errorf("absolute SERVER_CONFIG_FILE: %q", abs.MainConfig())
	}
	if ParseV("garbage").Version.Known() {
		t.Error("version from garbage")
	}
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		opts      audit.Options
		paths     map[string]string // LookPath answers
		script    map[string]string // argv -> stdout
		wantMain  string
		wantRoot  string
		wantBin   string
		wantVer   string
		wantCalls int
		found     bool
		// wantStatic is ParseOptions.StaticModules (nil: the default
		// list); wantNote a note expected.
		wantStatic []string
		wantNote   string
	}{
		{name: "RHEL through httpd -V on PATH", files: map[string]string{"/etc/httpd/conf/httpd.conf": "ServerRoot /etc/httpd\n"},
			paths: map[string]string{"httpd": "/usr/sbin/httpd"}, script: map[string]string{"/usr/sbin/httpd -V": rhelV, "/usr/sbin/httpd -l": rhelL},
			wantMain: "/etc/httpd/conf/httpd.conf", wantRoot: "/etc/httpd", wantBin: "/usr/sbin/httpd", wantVer: "2.4.37", wantCalls: 2, found: true,
			wantStatic: []string{"core.c", "mod_so.c", "http_core.c"}},
		{name: "rooted: PATH binaries are not run", files: map[string]string{"/etc/httpd/conf/httpd.conf": "\n"},
			opts: audit.Options{Root: "/image"}, paths: map[string]string{"httpd": "/usr/sbin/httpd"}, script: map[string]string{"/usr/sbin/httpd -V": rhelV},
			wantMain: "/etc/httpd/conf/httpd.conf", wantRoot: "/etc/httpd", wantVer: "unknown", found: true},
		{name: "explicit --apache-bin runs even when rooted", files: map[string]string{"/etc/httpd/conf/httpd.conf": "\n"},
			opts: audit.Options{Root: "/image", ApacheBin: "/opt/httpd/bin/apachectl"}, script: map[string]string{"/opt/httpd/bin/apachectl -V": rhelV, "/opt/httpd/bin/apachectl -l": debianL},
			wantMain: "/etc/httpd/conf/httpd.conf", wantRoot: "/etc/httpd", wantBin: "/opt/httpd/bin/apachectl", wantVer: "2.4.37", wantCalls: 2, found: true,
			wantStatic: DefaultStaticModules()},
		{name: "--apache-conf wins; ServerRoot from its location", files: map[string]string{"/srv/web/conf/httpd.conf": "\n", "/etc/httpd/conf/httpd.conf": "\n"},
			opts:     audit.Options{Root: "/image", ApacheConf: "/srv/web/conf/httpd.conf"},
			wantMain: "/srv/web/conf/httpd.conf", wantRoot: "/srv/web", wantVer: "unknown", found: true},
		{name: "Debian well-known path", files: map[string]string{"/etc/apache2/apache2.conf": "\n"},
			wantMain: "/etc/apache2/apache2.conf", wantRoot: "/etc/apache2", wantVer: "unknown", found: true},
		{name: "FreeBSD well-known path", files: map[string]string{"/usr/local/etc/apache24/httpd.conf": "\n"},
			wantMain: "/usr/local/etc/apache24/httpd.conf", wantRoot: "/usr/local/etc/apache24", wantVer: "unknown", found: true},
		{name: "-V names a missing file: fall back", files: map[string]string{"/opt/homebrew/etc/httpd/httpd.conf": "\n"},
			paths: map[string]string{"apachectl": "/usr/sbin/apachectl"}, script: map[string]string{"/usr/sbin/apachectl -V": rhelV},
			wantMain: "/opt/homebrew/etc/httpd/httpd.conf", wantRoot: "/opt/homebrew/etc/httpd", wantBin: "/usr/sbin/apachectl", wantVer: "2.4.37", wantCalls: 2, found: true,
			wantNote: "/usr/sbin/apachectl -l listed no compiled-in modules"}, // -l not scripted: Debian's list
		{name: "not found", files: map[string]string{"/etc/nginx/nginx.conf": "\n"}, wantVer: "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys, _ := writeTree(t, tt.files)
			r := &platformtest.Runner{Script: map[string]platform.Output{}, Paths: tt.paths}
			for k, v := range tt.script {
				r.Script[k] = platform.Output{Stdout: []byte(v)}
			}
			env := &audit.Env{FS: fsys, Runner: r, Policy: audit.DefaultPolicy(), Options: tt.opts}
			a, err := Analyze(context.Background(), env)
			if err != nil {
				t.Fatal(err)
			}
			if a.Found != tt.found {
				t.Fatalf("Found = %v, component %+v", a.Found, a.Component)
			}
			if !tt.found {
				if a.Component.Status != audit.StatusNotFound || a.Component.Kind != audit.KindApache {
					t.Errorf("component %+v", a.Component)
				}
				notes := strings.Join(a.Component.Notes, "\n")
				for _, p := range wellKnown {
					if !strings.Contains(notes, p) {
						t.Errorf("notes do not say %s was looked for: %q", p, notes)
					}
				}
				return
			}
			got := []string{a.Main, a.ServerRoot, a.Binary, a.Component.Version}
			if d := cmp.Diff([]string{tt.wantMain, tt.wantRoot, tt.wantBin, tt.wantVer}, got); d != "" {
				t.Errorf("main, root, binary, version (-want +got):\n%s", d)
			}
			if len(r.Calls) != tt.wantCalls {
				t.Errorf("ran %v, want %d calls", r.Calls, tt.wantCalls)
			}
			if d := cmp.Diff(tt.wantStatic, a.ParseOptions.StaticModules); d != "" {
				t.Errorf("StaticModules (-want +got):\n%s", d)
			}
			if tt.wantNote != "" && !strings.Contains(strings.Join(a.Component.Notes, "\n"), tt.wantNote) {
				t.Errorf("notes %q lack %q", a.Component.Notes, tt.wantNote)
			}
			if a.VersionAssumed != (tt.wantVer == "unknown") {
				t.Errorf("VersionAssumed = %v", a.VersionAssumed)
			}
		})
	}
}

func TestReadEnvvars(t *testing.T) {
	src := `# envvars
unset HOME
if [ "${APACHE_CONFDIR##/etc/apache2-}" != "${APACHE_CONFDIR}" ] ; then
	SUFFIX="-${APACHE_CONFDIR##/etc/apache2-}"
else
	SUFFIX=
fi
export APACHE_RUN_USER=www-data
export APACHE_PID_FILE=/var/run/apache2$SUFFIX/apache2.pid
export APACHE_LOG_DIR="/var/log/apache2${SUFFIX}"
export QUOTED='single $NOT expanded'
export ESC=a\ b
LOCAL=not-exported
export LANG=C
export LANG
`
	want := map[string]string{"APACHE_RUN_USER": "www-data", "APACHE_PID_FILE": "/var/run/apache2/apache2.pid",
		"APACHE_LOG_DIR": "/var/log/apache2", "QUOTED": "single $NOT expanded", "ESC": "a b", "LANG": "C"}
	if d := cmp.Diff(want, readEnvvars(src)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
