//go:build unix

package txn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// Real Apache config tests (apache2 -t -f MAIN) on a test-local tree whose
// vhost is included through a sites-enabled symlink. -t never binds, so
// the Listen port is never opened.
func TestApplyRealApacheConfigTest(t *testing.T) {
	bin := platformtest.RequireTool(t, "apache2")
	mods := "/usr/lib/apache2/modules"
	platformtest.RequireTool(t, filepath.Join(mods, "mod_ssl.so"))
	legacyLine := "SSLProtocol all -SSLv3"
	tests := []struct {
		name, replacement string
		wantErr           bool
	}{
		{"good edit applies", "SSLProtocol -all +TLSv1.2 +TLSv1.3", false},
		{"bad edit rolls back", "SSLProtocol -all +TLSv1.2 +TLSv9", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			main := filepath.Join(dir, "httpd.conf")
			mainConf := fmt.Sprintf(`ServerRoot %[1]s
ServerName localhost
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
Listen 127.0.0.1:8443
LoadModule mpm_event_module %[2]s/mod_mpm_event.so
LoadModule authz_core_module %[2]s/mod_authz_core.so
<IfModule !ssl_module>
	LoadModule ssl_module %[2]s/mod_ssl.so
</IfModule>
IncludeOptional %[1]s/sites-enabled/*
`, dir, mods)
			vhost := "<VirtualHost 127.0.0.1:8443>\r\n\t" + legacyLine + "\r\n</VirtualHost>\r\n"
			os.MkdirAll(filepath.Join(dir, "sites-available"), 0o755)
			os.MkdirAll(filepath.Join(dir, "sites-enabled"), 0o755)
			os.WriteFile(main, []byte(mainConf), 0o644)
			avail := filepath.Join(dir, "sites-available", "site.conf")
			os.WriteFile(avail, []byte(vhost), 0o644)
			link := filepath.Join(dir, "sites-enabled", "site.conf")
			os.Symlink("../sites-available/site.conf", link)

			fc := remediate.NewFileChange(link, avail, []byte(vhost), 0o644)
			i := strings.Index(vhost, legacyLine)
			fc.Edits = []remediate.Edit{{Start: i, End: i + len(legacyLine), New: tt.replacement}}
			plan := &remediate.Plan{Files: []remediate.FileChange{fc},
				Servers: []remediate.Server{{Kind: "apache", Main: main, Binary: bin, TestArgv: []string{bin, "-t", "-f", main}}}}
			deps := Deps{FS: platform.NewOSWriter(""), Runner: platform.ExecRunner{Timeout: 20 * time.Second}}
			res, err := Apply(context.Background(), deps, plan, Options{BackupDir: filepath.Join(t.TempDir(), "b")})
			got, _ := os.ReadFile(avail)
			if fi, lerr := os.Lstat(link); lerr != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("sites-enabled link replaced (%v)", lerr)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				if want := strings.Replace(vhost, legacyLine, tt.replacement, 1); string(got) != want {
					t.Errorf("file %q, want %q", got, want)
				}
				if len(res.ConfigTest) != 1 || !strings.Contains(res.ConfigTest[0].Output, "Syntax OK") {
					t.Errorf("config test %+v", res.ConfigTest)
				}
				return
			}
			var rb *RolledBackError
			if !errors.As(err, &rb) || !strings.Contains(rb.Output, "Illegal protocol 'TLSv9'") {
				t.Fatalf("err = %v (output %q), want rollback with Apache's message", err, rb)
			}
			if !bytes.Equal(got, []byte(vhost)) {
				t.Errorf("not restored: %q", got)
			}
		})
	}
}

// Apache's `IncludeOptional dir/*` does not load the temporary file that
// sits in dir while a file there is replaced: DUMP_INCLUDES, taken by the
// real apache2 at that moment, lists the file but not its twin.
func TestRealApacheIgnoresTemporaryFile(t *testing.T) {
	bin := platformtest.RequireTool(t, "apache2")
	mods := "/usr/lib/apache2/modules"
	dir := t.TempDir()
	main := filepath.Join(dir, "httpd.conf")
	os.WriteFile(main, []byte(fmt.Sprintf(`ServerRoot %[1]s
ServerName localhost
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
Listen 127.0.0.1:8443
LoadModule mpm_event_module %[2]s/mod_mpm_event.so
LoadModule authz_core_module %[2]s/mod_authz_core.so
IncludeOptional %[1]s/sites-enabled/*
`, dir, mods)), 0o644)
	os.MkdirAll(filepath.Join(dir, "sites-enabled"), 0o755)
	site := filepath.Join(dir, "sites-enabled", "site.conf")
	before := []byte("Define SITE_PROTOCOLS old\n")
	os.WriteFile(site, before, 0o644)
	fc := remediate.NewFileChange(site, site, before, 0o644)
	fc.Edits = []remediate.Edit{{Start: len("Define SITE_PROTOCOLS "), End: len(before) - 1, New: "new"}}
	argv := []string{bin, "-t", "-D", "DUMP_INCLUDES", "-f", main}
	plan := &remediate.Plan{Files: []remediate.FileChange{fc}, Servers: []remediate.Server{{Kind: "apache", Main: main, Binary: bin, TestArgv: argv}}}
	w := platform.NewOSWriter("")
	runner := platform.ExecRunner{Timeout: 20 * time.Second}
	var dump string
	var temps []string
	w.Hook = func(step platform.AtomicStep, name string) error {
		if step == platform.StepRename {
			temps, _ = filepath.Glob(filepath.Join(dir, "sites-enabled", platform.TempPattern))
			out, _ := runner.Run(context.Background(), argv)
			dump = string(out.Stdout) + string(out.Stderr)
		}
		return nil
	}
	if _, err := Apply(context.Background(), Deps{FS: w, Runner: runner}, plan, Options{BackupDir: filepath.Join(t.TempDir(), "b")}); err != nil {
		t.Fatal(err)
	}
	if len(temps) != 1 {
		t.Fatalf("temporary files during the write: %v; the test proves nothing", temps)
	}
	if !strings.Contains(dump, site) {
		t.Fatalf("DUMP_INCLUDES does not list %s:\n%s", site, dump)
	}
	if strings.Contains(dump, filepath.Base(temps[0])) {
		t.Errorf("apache2 included the temporary file %s:\n%s", temps[0], dump)
	}
}
