package nginx

import (
	"context"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestNotFound(t *testing.T) {
	root := t.TempDir()
	runner := &platformtest.Runner{}
	env := testEnv(root, runner, audit.Options{})
	env.Options.Root = "" // the live host, but with an empty FS and no nginx on PATH
	env.FS = platform.NewOSFS(root)
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if a.Found || a.Component.Status != audit.StatusNotFound || a.Component.Kind != audit.KindNginx {
		t.Fatalf("got found=%v component %+v", a.Found, a.Component)
	}
	notes := strings.Join(a.Component.Notes, "\n")
	for _, want := range append([]string{"nginx on PATH"}, append(wellKnownBins, wellKnownConfs...)...) {
		if !strings.Contains(notes, want) {
			t.Errorf("not-found notes do not mention %q:\n%s", want, notes)
		}
	}
	if len(a.Findings) != 0 || len(runner.Calls) != 0 {
		t.Errorf("findings %v, calls %v; want none", a.Findings, runner.Calls)
	}
}

func TestDiscoverFromNginxV(t *testing.T) {
	// nginx on PATH names its config with --conf-path; nothing at the
	// well-known paths.
	root := platformtest.WriteTree(t, map[string]string{
		"/opt/ng/conf/main.conf": "http { server { listen 443 ssl; } }\n",
	})
	runner := fakeNginx("1.24.0", "OpenSSL 3.0.11 19 Sep 2023 (running with OpenSSL 3.0.17 1 Jul 2025)", "/opt/ng/conf/main.conf")
	runner.Script["/usr/bin/nginx -V"] = runner.Script["/fake/nginx -V"]
	runner.Paths = map[string]string{"nginx": "/usr/bin/nginx"}
	env := testEnv(root, runner, audit.Options{})
	env.Options.Root = "" // live-host rules: PATH binaries run
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if a.Main != "/opt/ng/conf/main.conf" || a.Binary != "/usr/bin/nginx" || a.Version.String() != "1.24.0" || a.VersionAssumed {
		t.Errorf("main %q binary %q version %v assumed %v", a.Main, a.Binary, a.Version, a.VersionAssumed)
	}
	// "running with" wins over "built with".
	if got := a.Library.String(); got != "OpenSSL 3.0.17" {
		t.Errorf("library = %q, want the running OpenSSL 3.0.17", got)
	}
	if a.LibraryComponent == nil || a.LibraryComponent.Kind != audit.KindOpenSSL {
		t.Errorf("no OpenSSL library component: %+v", a.LibraryComponent)
	}
}

func TestDiscoverVersionFlagWins(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{conf: "http { server { listen 443 ssl; } }\n"})
	runner := fakeNginx("1.22.1", "OpenSSL 3.0.2 15 Mar 2022", "")
	env := testEnv(root, runner, audit.Options{NginxBin: "/fake/nginx", NginxVersion: "1.28.0"})
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version.String() != "1.28.0" || a.Main != conf {
		t.Errorf("version %v main %q; want the flag's 1.28.0 and the well-known %s", a.Version, a.Main, conf)
	}
	if a.Servers[0].Effective != DefaultProtocols(audit.MustServerVersion("1.28.0")) {
		t.Errorf("effective %v is not the 1.28.0 default", a.Servers[0].Effective)
	}
}

func TestDiscoverBadVersionFlag(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{conf: "http {}\n"})
	env := testEnv(root, nil, audit.Options{NginxVersion: "latest"})
	_, err := Analyze(context.Background(), env)
	if err == nil || !audit.IsConfigError(err) || !strings.Contains(err.Error(), `invalid --nginx-version "latest"`) {
		t.Fatalf("err = %v", err)
	}
}

// Under --root, a binary found on PATH or at a well-known path in the image
// is never run; only --nginx-bin is. The config comes from the image.
func TestRootedDoesNotRunPathBinaries(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{
		"/usr/local/etc/nginx/nginx.conf": "http { ssl_protocols TLSv1.2; server { listen 443 ssl; } }\n",
		"/usr/sbin/nginx":                 "not really an ELF file",
	})
	runner := fakeNginx("1.22.1", "", "/etc/nginx/nginx.conf")
	runner.Paths = map[string]string{"nginx": "/fake/nginx"}
	env := testEnv(root, runner, audit.Options{})
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(runner.Calls) != 0 {
		t.Errorf("ran %v under --root", runner.Calls)
	}
	if a.Main != "/usr/local/etc/nginx/nginx.conf" || a.Binary != "/usr/sbin/nginx" || !a.VersionAssumed {
		t.Errorf("main %q binary %q assumed %v", a.Main, a.Binary, a.VersionAssumed)
	}
	notes := strings.Join(a.Component.Notes, "\n")
	if !strings.Contains(notes, "not run") || !strings.Contains(notes, "assuming the oldest built-in default") {
		t.Errorf("notes do not explain the unrun binary and assumed version:\n%s", notes)
	}

	// --nginx-bin still runs under --root.
	env.Options.NginxBin = "/fake/nginx"
	a, err = Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(runner.Calls) != 1 || a.Version.String() != "1.22.1" {
		t.Errorf("calls %v version %v", runner.Calls, a.Version)
	}
}

// A failing nginx -V is a note, not an error.
func TestNginxVFails(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{conf: "http {}\n"})
	runner := &platformtest.Runner{Script: map[string]platform.Output{
		"/fake/nginx -V": {ExitCode: 1, Stderr: []byte("nginx: [emerg] something")},
	}}
	env := testEnv(root, runner, audit.Options{NginxBin: "/fake/nginx"})
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Found || !a.VersionAssumed || !strings.Contains(strings.Join(a.Component.Notes, "\n"), "could not run /fake/nginx -V") {
		t.Errorf("found %v assumed %v notes %q", a.Found, a.VersionAssumed, a.Component.Notes)
	}
}

// Symlinks with absolute targets resolve inside --root (Debian's
// sites-enabled links), and the report names the path as included.
func TestRootedSymlink(t *testing.T) {
	root := platformtest.WriteTree(t, map[string]string{
		conf:                                 "http { include /etc/nginx/sites-enabled/*; }\n",
		"/etc/nginx/sites-available/default": "server { listen 443 ssl; ssl_protocols TLSv1.1 TLSv1.2; }\n",
	})
	mustSymlink(t, "/etc/nginx/sites-available/default", root+"/etc/nginx/sites-enabled/default")
	a := analyzeRoot(t, root)
	if len(a.Directives) != 1 || a.Directives[0].File != "/etc/nginx/sites-enabled/default" {
		t.Fatalf("directives %+v", a.Directives)
	}
}

// A binary whose config is gone is reported as not found, saying so.
func TestBinaryWithoutConfig(t *testing.T) {
	root := t.TempDir()
	runner := fakeNginx("1.24.0", "", "/etc/nginx/nginx.conf")
	env := testEnv(root, runner, audit.Options{NginxBin: "/fake/nginx"})
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(a.Component.Notes, "\n")
	if a.Found || a.Component.Status != audit.StatusNotFound || !strings.Contains(notes, "/fake/nginx -V names /etc/nginx/nginx.conf, which does not exist") {
		t.Errorf("found %v status %v notes:\n%s", a.Found, a.Component.Status, notes)
	}
}
