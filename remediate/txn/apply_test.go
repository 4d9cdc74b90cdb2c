//go:build unix

package txn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestApplyWritesBacksUpAndRollsBack(t *testing.T) {
	tr := newTree(t, 4)
	var out bytes.Buffer
	runner := okRunner()
	now := time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC)
	res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: runner, Out: &out}, tr.plan(t),
		Options{BackupDir: tr.backup, Root: tr.root, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("Apply: %v\n%s", err, out.String())
	}
	tr.assertFixed(t)
	if !strings.HasPrefix(res.BackupID, "20261128T233000Z-") {
		t.Errorf("backup id %q: want timestamp prefix", res.BackupID)
	}
	if len(res.ConfigTest) != 1 || !res.ConfigTest[0].OK {
		t.Errorf("config test results: %+v", res.ConfigTest)
	}
	if len(tempFiles(t, tr.root)) != 0 {
		t.Errorf("temporary files left: %v", tempFiles(t, tr.root))
	}

	// The manifest knows the root: another --root is refused.
	if _, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true}); err == nil || !strings.Contains(err.Error(), "--root") {
		t.Fatalf("rollback without --root: %v", err)
	}
	rb, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true, Root: tr.root})
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if len(rb.Restored) != 4 {
		t.Errorf("restored %v, want 4 files", rb.Restored)
	}
	tr.assertOriginal(t)
	// A second --last says so instead of restoring again.
	if _, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true, Root: tr.root}); !errors.Is(err, ErrAlreadyRolledBack) {
		t.Errorf("second rollback: %v, want ErrAlreadyRolledBack", err)
	}
}

func TestApplyManifestAndPermissions(t *testing.T) {
	tr := newTree(t, 3)
	p := tr.plan(t)
	res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p, Options{BackupDir: tr.backup, Root: tr.root})
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadManifest(res.BackupPath)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusApplied || m.Root != tr.root || m.ID != res.BackupID {
		t.Errorf("manifest status=%s root=%s id=%s", m.Status, m.Root, m.ID)
	}
	if len(m.Files) != len(p.Files) {
		t.Fatalf("manifest has %d files, want %d", len(m.Files), len(p.Files))
	}
	for i, r := range m.Files {
		fc := p.Files[i]
		after, _ := fc.After()
		real := tr.fs.Real(r.RealPath)
		fi, err := os.Stat(real)
		if err != nil {
			t.Fatal(err)
		}
		if r.Path != fc.Path || r.RealPath != fc.RealPath {
			t.Errorf("record %d paths %s/%s, want %s/%s", i, r.Path, r.RealPath, fc.Path, fc.RealPath)
		}
		if r.WasSymlink != (fc.Path != fc.RealPath) {
			t.Errorf("%s: was_symlink=%v", r.Path, r.WasSymlink)
		}
		if r.SHA256 != sum(fc.Before) || r.SHA256New != sum(after) {
			t.Errorf("%s: hashes do not match before/after", r.Path)
		}
		if want := formatMode(fi.Mode()); r.Mode != want {
			t.Errorf("%s: manifest mode %s, file now %s", r.Path, r.Mode, want)
		}
		attr := platform.AttrOf(fi)
		if r.UID != attr.UID || r.GID != attr.GID {
			t.Errorf("%s: owner %d:%d, file %d:%d", r.Path, r.UID, r.GID, attr.UID, attr.GID)
		}
		b, err := os.ReadFile(filepath.Join(res.BackupPath, r.Backup))
		if err != nil || !bytes.Equal(b, fc.Before) {
			t.Errorf("%s: backup copy differs from the original (%v)", r.Path, err)
		}
		bfi, _ := os.Stat(filepath.Join(res.BackupPath, r.Backup))
		if bfi.Mode().Perm() != 0o600 {
			t.Errorf("backup file mode %v, want 0600", bfi.Mode().Perm())
		}
	}
	for _, d := range []string{res.BackupPath, filepath.Join(res.BackupPath, "files")} {
		fi, _ := os.Stat(d)
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
	mfi, _ := os.Stat(filepath.Join(res.BackupPath, ManifestName))
	if mfi.Mode().Perm() != 0o600 {
		t.Errorf("manifest mode %v, want 0600", mfi.Mode().Perm())
	}
	// Modes survive the rewrite: 0644, 0640 (through the link), 0600.
	for host, want := range map[string]fs.FileMode{"/etc/nginx/nginx.conf": 0o644, "/etc/nginx/sites-available/site.conf": 0o640, "/etc/nginx/conf.d/a.conf": 0o600} {
		fi, _ := os.Stat(tr.fs.Real(host))
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", host, fi.Mode().Perm(), want)
		}
	}
	var raw map[string]any
	b, _ := os.ReadFile(filepath.Join(res.BackupPath, ManifestName))
	if err := json.Unmarshal(b, &raw); err != nil || raw["schema_version"] != float64(1) {
		t.Errorf("manifest JSON: %v %v", err, raw["schema_version"])
	}
}

func TestApplyRefusesDrift(t *testing.T) {
	tr := newTree(t, 3)
	p := tr.plan(t)
	// Someone edits the second file between plan and apply.
	real := tr.fs.Real("/etc/nginx/sites-available/site.conf")
	if err := os.WriteFile(real, []byte("server { }\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	tr.orig["/etc/nginx/sites-available/site.conf"] = []byte("server { }\n")
	_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p, Options{BackupDir: tr.backup})
	if !errors.Is(err, ErrDrift) {
		t.Fatalf("err = %v, want ErrDrift", err)
	}
	if want := "/etc/nginx/sites-enabled/site.conf: changed since the plan was made"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	tr.assertOriginal(t)
	if infos, _ := List(tr.backup); len(infos) != 0 {
		t.Errorf("backups after a refused apply: %+v", infos)
	}
}

func TestApplyConfigTestFailureRestores(t *testing.T) {
	tr := newTree(t, 3)
	runner := &platformtest.Runner{Script: map[string]platform.Output{
		"nginx -t -c /etc/nginx/nginx.conf": {ExitCode: 1, Stderr: []byte("nginx: [emerg] invalid value \"TLSv1.3\" in /etc/nginx/nginx.conf:3\n")},
	}}
	var out bytes.Buffer
	res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: runner, Out: &out}, tr.plan(t), Options{BackupDir: tr.backup})
	var rb *RolledBackError
	if !errors.As(err, &rb) || rb.Stage != "config test" {
		t.Fatalf("err = %v, want RolledBackError at config test", err)
	}
	if !strings.Contains(rb.Output, `invalid value "TLSv1.3"`) || !strings.Contains(res.ConfigTest[0].Output, `invalid value "TLSv1.3"`) {
		t.Errorf("test output not passed on: %q / %+v", rb.Output, res.ConfigTest)
	}
	if !strings.Contains(out.String(), "restoring every file from "+res.BackupPath) {
		t.Errorf("progress does not say where the files come from: %q", out.String())
	}
	tr.assertOriginal(t)
	if !res.RolledBack || len(res.Restored) != 3 {
		t.Errorf("result %+v", res)
	}
	m, _ := LoadManifest(res.BackupPath)
	if m.Status != StatusRolledBack {
		t.Errorf("manifest status %s", m.Status)
	}
}

// notWritable is the tree's writer, except that one directory cannot be
// written (what a non-root user or a read-only mount sees).
type notWritable struct {
	*platform.OSWriter
	dir string
}

func (w notWritable) CheckWritable(name string) error {
	if filepath.Dir(name) == w.dir {
		return &fs.PathError{Op: "write", Path: w.dir, Err: fs.ErrPermission}
	}
	return w.OSWriter.CheckWritable(name)
}

// TestApplyRefusesUnwritableBeforeBackup: a file that cannot be replaced
// is found before anything happens: no backup directory, no lock, no
// write, and the error says why and what to do.
func TestApplyRefusesUnwritableBeforeBackup(t *testing.T) {
	tr := newTree(t, 4)
	var out bytes.Buffer
	_, err := Apply(context.Background(), Deps{FS: notWritable{tr.fs, "/etc/nginx/conf.d"}, Runner: okRunner(), Out: &out}, tr.plan(t),
		Options{BackupDir: tr.backup, Root: tr.root})
	var nw *NotWritableError
	if !errors.As(err, &nw) || !strings.HasPrefix(nw.Path, "/etc/nginx/conf.d/") ||
		!strings.Contains(err.Error(), "nothing was changed (run tlsfloor fix as root") {
		t.Fatalf("err = %v, want *NotWritableError for a conf.d file with the root hint", err)
	}
	if _, serr := os.Stat(tr.backup); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("backup directory created: %v", serr)
	}
	tr.assertOriginal(t)
	if out.Len() != 0 {
		t.Errorf("progress printed for a refused fix:\n%s", out.String())
	}
}
