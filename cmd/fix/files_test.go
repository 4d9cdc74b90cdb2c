package fix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

const filesConf = "/etc/nginx/nginx.conf"

const legacyNginx = "events {}\nhttp {\n    server {\n        listen 443 ssl;\n        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n    }\n}\n"

// filesRun runs `tlsfloor fix` on Linux against an nginx tree under a
// temp root.
type filesRun struct {
	root, backups string
	opts          *Options
	out, errOut   *bytes.Buffer
	runner        *platformtest.Runner
	tty           bool
	stdin         string
	// in, when set, replaces stdin; ctx, when set, is Run's context.
	in  io.Reader
	ctx context.Context
	// newWriter, when set, replaces the real disk writer.
	newWriter func(root string) platform.Writer
}

func newFilesRun(t *testing.T, conf string) *filesRun {
	t.Helper()
	root := t.TempDir()
	p := filepath.Join(root, "etc/nginx/nginx.conf")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(conf), 0o640); err != nil {
		t.Fatal(err)
	}
	backups := filepath.Join(t.TempDir(), "backups")
	return &filesRun{root: root, backups: backups, out: &bytes.Buffer{}, errOut: &bytes.Buffer{}, runner: &platformtest.Runner{},
		opts: &Options{MinVersion: audit.TLS12, TLS13: TLS13Auto, Format: cmdutil.FormatText, BackupDir: backups, GOOS: "linux",
			Discovery: audit.Options{Root: root, NginxConf: filesConf, NginxVersion: "1.22.1"}}}
}

func (r *filesRun) exec(t *testing.T) int {
	t.Helper()
	r.out.Reset()
	r.errOut.Reset()
	var in io.Reader = strings.NewReader(r.stdin)
	if r.in != nil {
		in = r.in
	}
	ios := cmdutil.Test(in, r.out, r.errOut)
	ios.InTTY, ios.OutTTY = r.tty, r.tty
	r.opts.Factory = &cmdutil.Factory{IO: ios, Runner: r.runner, Getenv: func(string) string { return "" },
		Now:     func() time.Time { return time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC) },
		Version: "test", NewFS: func(root string) platform.FS { return platform.NewOSFS(root) }, NewWriter: r.newWriter}
	ctx := r.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	err := Run(ctx, r.opts)
	var ee *cmdutil.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.Err != nil {
			r.errOut.WriteString(ee.Err.Error())
		}
		return ee.Code
	}
	t.Logf("error: %v", err)
	return 1
}

func (r *filesRun) conf(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.root, "etc/nginx/nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (r *filesRun) backupCount() int {
	es, _ := os.ReadDir(r.backups)
	n := 0
	for _, e := range es {
		if e.IsDir() {
			n++
		}
	}
	return n
}

const wantDiff = `--- a/etc/nginx/nginx.conf
+++ b/etc/nginx/nginx.conf
@@ -2,6 +2,6 @@
 http {
     server {
         listen 443 ssl;
-        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
+        ssl_protocols TLSv1.2 TLSv1.3;
     }
 }
`

func TestFilesDryRun(t *testing.T) {
	r := newFilesRun(t, legacyNginx)
	r.opts.DryRun = true
	if code := r.exec(t); code != cmdutil.ExitNonCompliant {
		t.Fatalf("exit %d, want 3; stderr %s", code, r.errOut)
	}
	if r.out.String() != wantDiff {
		t.Errorf("diff:\n%s\nwant\n%s", r.out, wantDiff)
	}
	if r.conf(t) != legacyNginx || r.backupCount() != 0 {
		t.Error("--dry-run changed something")
	}
}

func TestFilesNothingToChange(t *testing.T) {
	r := newFilesRun(t, "events {}\nhttp {\n    ssl_protocols TLSv1.2 TLSv1.3;\n    server { listen 443 ssl; }\n}\n")
	for _, dry := range []bool{true, false} {
		r.opts.DryRun = dry
		if code := r.exec(t); code != 0 {
			t.Fatalf("dry-run=%v: exit %d, want 0", dry, code)
		}
		if strings.TrimSpace(r.out.String()) != "nothing to change" {
			t.Errorf("stdout %q", r.out)
		}
	}
	if r.backupCount() != 0 {
		t.Error("a backup was made although nothing changed")
	}
}

func TestFilesNoTerminalRefuses(t *testing.T) {
	r := newFilesRun(t, legacyNginx)
	if code := r.exec(t); code != cmdutil.ExitNonCompliant {
		t.Fatalf("exit %d, want 3", code)
	}
	if !strings.Contains(r.errOut.String(), "--yes") {
		t.Errorf("stderr does not say how to apply: %q", r.errOut)
	}
	if r.out.String() != wantDiff {
		t.Errorf("the diff was not printed first: %q", r.out)
	}
	if r.conf(t) != legacyNginx || r.backupCount() != 0 {
		t.Error("changed something without a terminal and without --yes")
	}
}

func TestFilesTerminalConfirm(t *testing.T) {
	for _, answer := range []string{"n\n", "", "yes\n"} {
		r := newFilesRun(t, legacyNginx)
		r.tty, r.stdin = true, answer
		code := r.exec(t)
		if !strings.Contains(r.errOut.String(), "Apply these changes? [y/N]") {
			t.Errorf("%q: no prompt on stderr: %q", answer, r.errOut)
		}
		applied := r.conf(t) != legacyNginx
		switch answer {
		case "yes\n":
			if code != 0 || !applied || r.backupCount() != 1 {
				t.Errorf("yes: exit %d, applied %v, backups %d", code, applied, r.backupCount())
			}
		default:
			if code != cmdutil.ExitNonCompliant || applied || r.backupCount() != 0 {
				t.Errorf("%q: exit %d, applied %v, backups %d", answer, code, applied, r.backupCount())
			}
		}
	}
}

func TestFilesYesThenNothingToChange(t *testing.T) {
	r := newFilesRun(t, legacyNginx)
	r.opts.Yes = true
	if code := r.exec(t); code != 0 {
		t.Fatalf("exit %d; stderr %s", code, r.errOut)
	}
	if got := r.conf(t); !strings.Contains(got, "ssl_protocols TLSv1.2 TLSv1.3;") {
		t.Fatalf("not fixed:\n%s", got)
	}
	fi, err := os.Stat(filepath.Join(r.root, "etc/nginx/nginx.conf"))
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept (%v)", fi.Mode(), err)
	}
	fixed := r.conf(t)
	if code := r.exec(t); code != 0 || strings.TrimSpace(r.out.String()) != "nothing to change" {
		t.Fatalf("second fix: exit %d, stdout %q", code, r.out)
	}
	if r.backupCount() != 1 || r.conf(t) != fixed {
		t.Errorf("second fix wrote something: %d backups", r.backupCount())
	}
}

func TestFilesJSON(t *testing.T) {
	r := newFilesRun(t, legacyNginx)
	r.opts.Format, r.opts.Yes = cmdutil.FormatJSON, true
	r.opts.Discovery.NginxBin = "/fake/nginx"
	// The fake nginx answers -V and passes the config test.
	disk := filepath.Join(r.root, "etc/nginx/nginx.conf")
	r.runner.Script = map[string]platform.Output{
		"/fake/nginx -V":            {Stderr: []byte("nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.15 3 Sep 2024\n")},
		"/fake/nginx -t -c " + disk: {Stderr: []byte("nginx: configuration file " + disk + " test is successful\n")},
	}
	if code := r.exec(t); code != 0 {
		t.Fatalf("exit %d; stderr %s", code, r.errOut)
	}
	var doc struct {
		SchemaVersion int  `json:"schema_version"`
		Changed       bool `json:"changed"`
		Applied       bool `json:"applied"`
		Plan          struct {
			Files []struct {
				Path  string `json:"path"`
				Edits []struct {
					Location string `json:"location"`
					Reason   string `json:"reason"`
				} `json:"edits"`
			} `json:"files"`
			Servers []struct {
				TestArgv []string `json:"test_argv"`
			} `json:"servers"`
		} `json:"plan"`
		Diff   string `json:"diff"`
		Result struct {
			BackupID   string `json:"backup_id"`
			ConfigTest []struct {
				OK     bool   `json:"ok"`
				Output string `json:"output"`
			} `json:"config_test"`
		} `json:"result"`
	}
	if err := json.Unmarshal(r.out.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.out)
	}
	if doc.SchemaVersion != 1 || !doc.Changed || !doc.Applied || doc.Diff != wantDiff {
		t.Errorf("doc %+v", doc)
	}
	if len(doc.Plan.Files) != 1 || len(doc.Plan.Files[0].Edits) != 1 {
		t.Fatalf("files %+v", doc.Plan.Files)
	}
	e := doc.Plan.Files[0].Edits[0]
	if e.Location != filesConf+":5" || !strings.Contains(e.Reason, "legacy-protocol-enabled") {
		t.Errorf("edit %+v", e)
	}
	if doc.Result.BackupID == "" || len(doc.Result.ConfigTest) != 1 || !doc.Result.ConfigTest[0].OK || !strings.Contains(doc.Result.ConfigTest[0].Output, "successful") {
		t.Errorf("result %+v", doc.Result)
	}
}

func TestFilesConfigTestFailsRollsBack(t *testing.T) {
	r := newFilesRun(t, legacyNginx)
	r.opts.Yes = true
	r.opts.Discovery.NginxBin = "/fake/nginx"
	r.runner.Script = map[string]platform.Output{
		"/fake/nginx -V": {Stderr: []byte("nginx version: nginx/1.22.1\n")},
		// No answer for -t: the scripted runner fails it.
	}
	if code := r.exec(t); code != cmdutil.ExitRolledBack {
		t.Fatalf("exit %d, want 5; stderr %s", code, r.errOut)
	}
	if r.conf(t) != legacyNginx {
		t.Error("the file was not restored")
	}
}

func TestFilesUnreadableConfig(t *testing.T) {
	r := newFilesRun(t, "events {}\nhttp {\n    ssl_protocols TLSv1;\n    server { listen 443 ssl\n}\n")
	r.opts.Yes = true
	if code := r.exec(t); code != cmdutil.ExitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(r.errOut.String(), filesConf+":") {
		t.Errorf("no path:line in %q", r.errOut)
	}
	if r.backupCount() != 0 {
		t.Error("a backup was made")
	}
}

// A read-only config file is replaced atomically (the directory is
// writable) and keeps its mode.
func TestFilesReadOnlyFile(t *testing.T) {
	r := newFilesRun(t, legacyNginx)
	disk := filepath.Join(r.root, "etc/nginx/nginx.conf")
	if err := os.Chmod(disk, 0o444); err != nil {
		t.Fatal(err)
	}
	r.opts.Yes = true
	if code := r.exec(t); code != 0 {
		t.Fatalf("exit %d; stderr %s", code, r.errOut)
	}
	fi, err := os.Stat(disk)
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("mode %v (%v), want 0444", fi.Mode(), err)
	}
	if !strings.Contains(r.conf(t), "ssl_protocols TLSv1.2 TLSv1.3;") {
		t.Error("not fixed")
	}
}

// readOnlyWriter is the real disk, except that nothing may be replaced
// (what a non-root user sees in /etc).
type readOnlyWriter struct{ *platform.OSWriter }

func (readOnlyWriter) CheckWritable(name string) error {
	return &fs.PathError{Op: "write", Path: path.Dir(name), Err: fs.ErrPermission}
}

// TestFilesNotWritable: a fix that could not replace the files says so
// before it asks, exits 2 and leaves no backup.
func TestFilesNotWritable(t *testing.T) {
	r := newFilesRun(t, legacyNginx)
	r.newWriter = func(root string) platform.Writer { return readOnlyWriter{platform.NewOSWriter(root)} }
	r.tty, r.stdin = true, "y\n"
	code := r.exec(t)
	if code != cmdutil.ExitUsage || !strings.Contains(r.errOut.String(), "cannot replace /etc/nginx/nginx.conf") ||
		!strings.Contains(r.errOut.String(), "run tlsfloor fix as root") {
		t.Fatalf("exit %d, want 2 with the reason; stderr:\n%s", code, r.errOut)
	}
	if strings.Contains(r.errOut.String(), "Apply these changes") {
		t.Errorf("asked for confirmation although nothing could be written:\n%s%s", r.out, r.errOut)
	}
	if r.conf(t) != legacyNginx || r.backupCount() != 0 {
		t.Error("something was written")
	}
}

// TestFilesRootedAbsoluteSymlink: in a --root tree, a site enabled by an
// absolute link is fixed in the tree's target file; the link stays a link
// and nothing outside the tree is looked at.
func TestFilesRootedAbsoluteSymlink(t *testing.T) {
	const site = "server {\n    listen 443 ssl;\n    ssl_protocols TLSv1 TLSv1.2;\n}\n"
	r := newFilesRun(t, "events {}\nhttp {\n    include /etc/nginx/sites-enabled/*;\n}\n")
	avail := filepath.Join(r.root, "etc/nginx/sites-available/tlsfloor-test-site")
	link := filepath.Join(r.root, "etc/nginx/sites-enabled/tlsfloor-test-site")
	for _, d := range []string{filepath.Dir(avail), filepath.Dir(link)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(avail, []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/nginx/sites-available/tlsfloor-test-site", link); err != nil {
		t.Fatal(err)
	}
	r.opts.Yes = true
	if code := r.exec(t); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, r.out, r.errOut)
	}
	b, err := os.ReadFile(avail)
	if err != nil || !strings.Contains(string(b), "ssl_protocols TLSv1.2 TLSv1.3;") {
		t.Errorf("target not fixed: %q %v", b, err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
}

// TestFilesInterruptAtPrompt: Ctrl-C (a cancelled context: fix catches
// SIGINT) while fix waits for an answer leaves the prompt at once, changes
// nothing and exits 3 like a "no".
func TestFilesInterruptAtPrompt(t *testing.T) {
	r := newFilesRun(t, legacyNginx)
	pr, pw := io.Pipe() // a terminal nobody types on
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r.tty, r.in, r.ctx = true, pr, ctx
	time.AfterFunc(100*time.Millisecond, cancel)
	done := make(chan int, 1)
	go func() { done <- r.exec(t) }()
	select {
	case code := <-done:
		if code != cmdutil.ExitNonCompliant || !strings.Contains(r.errOut.String(), "interrupted: not applied: nothing was changed") {
			t.Errorf("exit %d, want 3 with the reason; stderr:\n%s", code, r.errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fix still waits at the prompt 10 s after the interrupt")
	}
	if r.conf(t) != legacyNginx || r.backupCount() != 0 {
		t.Error("something was written")
	}
}
