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
	"syscall"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// Every failure part-way through the writes (full disk, permission error,
// failing fsync or rename), at every step of every file, restores every
// file and leaves no temporary file: exit 5, never a half-written file.
func TestApplyFaultAtEveryWriteStep(t *testing.T) {
	steps := []platform.AtomicStep{platform.StepCreate, platform.StepWrite, platform.StepSync, platform.StepChown,
		platform.StepRename, platform.StepSyncDir}
	errs := []error{syscall.ENOSPC, syscall.EACCES, syscall.EIO, syscall.EROFS, syscall.EPERM, syscall.EIO}
	const nFiles = 3
	for file := 0; file < nFiles; file++ {
		for si, step := range steps {
			t.Run(fmt.Sprintf("file%d-%s", file, step), func(t *testing.T) {
				tr := newTree(t, nFiles)
				p := tr.plan(t)
				target := p.Files[file].RealPath
				armed := true
				tr.fs.Hook = func(s platform.AtomicStep, name string) error {
					if armed && s == step && name == target {
						armed = false // restoring the same file must work
						return errs[si]
					}
					return nil
				}
				res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p, Options{BackupDir: tr.backup})
				var rb *RolledBackError
				if !errors.As(err, &rb) || rb.Stage != "write" || !errors.Is(err, errs[si]) {
					t.Fatalf("err = %v, want RolledBackError at write wrapping %v", err, errs[si])
				}
				tr.assertOriginal(t)
				if tf := tempFiles(t, tr.root); len(tf) != 0 {
					t.Errorf("temporary files left: %v", tf)
				}
				m, _ := LoadManifest(res.BackupPath)
				if m == nil || m.Status != StatusRolledBack {
					t.Errorf("manifest %+v", m)
				}
			})
		}
	}
}

// When restoring fails too, Apply says so (exit 6) with the backup path.
func TestApplyRollbackFails(t *testing.T) {
	tr := newTree(t, 3)
	p := tr.plan(t)
	victim := p.Files[1].RealPath
	writes := 0
	tr.fs.Hook = func(s platform.AtomicStep, name string) error {
		if s == platform.StepCreate && name == victim {
			if writes++; writes > 1 { // the fix's write works, the restore does not
				return syscall.EROFS
			}
		}
		return nil
	}
	runner := &platformtest.Runner{Script: map[string]platform.Output{"nginx -t -c /etc/nginx/nginx.conf": {ExitCode: 1}}}
	res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: runner}, p, Options{BackupDir: tr.backup})
	var rf *RollbackFailedError
	if !errors.As(err, &rf) {
		t.Fatalf("err = %v, want RollbackFailedError", err)
	}
	if rf.BackupPath != res.BackupPath || !strings.Contains(err.Error(), res.BackupPath) || !strings.Contains(err.Error(), "tlsfloor rollback "+res.BackupID) {
		t.Errorf("message does not say where the backup is: %v", err)
	}
	// The other files are restored all the same.
	for _, f := range p.Files {
		if f.RealPath == victim {
			continue
		}
		if got := tr.read(t, f.RealPath); !bytes.Equal(got, f.Before) {
			t.Errorf("%s not restored", f.Path)
		}
	}
	m, _ := LoadManifest(res.BackupPath)
	if m.Status != StatusRollbackFailed {
		t.Errorf("status %s", m.Status)
	}
	// Once the cause is gone, rollback puts the rest back.
	tr.fs.Hook = nil
	if _, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, ID: res.BackupID}); err != nil {
		t.Fatal(err)
	}
	tr.assertOriginal(t)
}

// A real read-only file (immutable, since root ignores modes) in the
// middle of the plan: the files before it are restored.
func TestApplyReadOnlyFile(t *testing.T) {
	tr := newTree(t, 4)
	p := tr.plan(t)
	immutable(t, tr.fs.Real(p.Files[2].RealPath))
	if os.Geteuid() != 0 {
		// Without root, a read-only directory stops the rename as well.
		dir := filepath.Dir(tr.fs.Real(p.Files[2].RealPath))
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p, Options{BackupDir: tr.backup})
	var rb *RolledBackError
	if !errors.As(err, &rb) || rb.Stage != "write" {
		t.Fatalf("err = %v, want RolledBackError at write", err)
	}
	tr.assertOriginal(t)
}

func immutable(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	// Where the file system lacks the flag, the fault-hook tests cover
	// the same paths.
	platformtest.Immutable(t, path)
}

func TestApplyReloadFailureRestoresAndReloadsAgain(t *testing.T) {
	tr := newTree(t, 3)
	svc := &platformtest.Services{Fail: map[string]int{"nginx": 1}}
	var out bytes.Buffer
	res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner(), Services: svc, Out: &out}, tr.plan(t),
		Options{BackupDir: tr.backup, Reload: true})
	var rb *RolledBackError
	if !errors.As(err, &rb) || rb.Stage != "reload" {
		t.Fatalf("err = %v, want RolledBackError at reload", err)
	}
	tr.assertOriginal(t)
	if len(svc.Calls) != 2 || svc.Calls[0].Action != platform.ActionReload || svc.Calls[1].Action != platform.ActionReload {
		t.Fatalf("reload calls %+v, want reload, then reload again after restoring", svc.Calls)
	}
	if len(res.Reload) != 2 || res.Reload[0].OK || !res.Reload[1].OK || res.Reload[1].Phase != "restore" {
		t.Errorf("reload results %+v", res.Reload)
	}
	// The restored config was tested before reloading it.
	if n := len(res.ConfigTest); n != 2 || res.ConfigTest[1].Phase != "restore" {
		t.Errorf("config tests %+v", res.ConfigTest)
	}
}

func TestApplyReloadAfterRestoreFails(t *testing.T) {
	tr := newTree(t, 2)
	svc := &platformtest.Services{Fail: map[string]int{"nginx": 2}}
	_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner(), Services: svc}, tr.plan(t),
		Options{BackupDir: tr.backup, Restart: true})
	var rf *RollbackFailedError
	if !errors.As(err, &rf) || rf.Stage != "reload" {
		t.Fatalf("err = %v, want RollbackFailedError", err)
	}
	tr.assertOriginal(t) // the files are back even though the server is not
	if svc.Calls[0].Action != platform.ActionRestart {
		t.Errorf("action %s, want restart", svc.Calls[0].Action)
	}
}

func TestApplyVerify(t *testing.T) {
	t.Run("failure rolls back", func(t *testing.T) {
		tr := newTree(t, 2)
		svc := &platformtest.Services{}
		verify := func(ctx context.Context) error { return errors.New("127.0.0.1:443 still accepts TLSv1.1") }
		res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner(), Services: svc}, tr.plan(t),
			Options{BackupDir: tr.backup, Reload: true, Verify: verify})
		var rb *RolledBackError
		if !errors.As(err, &rb) || rb.Stage != "verify" || res.Verified {
			t.Fatalf("err = %v verified=%v, want RolledBackError at verify", err, res.Verified)
		}
		tr.assertOriginal(t)
		if len(svc.Calls) != 2 {
			t.Errorf("reloads %d, want 2 (apply, restore)", len(svc.Calls))
		}
	})
	t.Run("success sees the new files", func(t *testing.T) {
		tr := newTree(t, 2)
		verify := func(ctx context.Context) error {
			if !bytes.Contains(tr.read(t, "/etc/nginx/nginx.conf"), []byte(fixed)) {
				return errors.New("verify ran before the write")
			}
			return nil
		}
		res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner(), Services: &platformtest.Services{}}, tr.plan(t),
			Options{BackupDir: tr.backup, Reload: true, Verify: verify})
		if err != nil || !res.Verified {
			t.Fatalf("err = %v verified=%v", err, res.Verified)
		}
		tr.assertFixed(t)
	})
}

func TestApplyEmptyPlanWritesNothing(t *testing.T) {
	tr := newTree(t, 2)
	p := tr.plan(t)
	for i := range p.Files {
		p.Files[i].Edits = nil
	}
	res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p, Options{BackupDir: tr.backup})
	if err != nil || res.BackupID != "" {
		t.Fatalf("res %+v err %v", res, err)
	}
	if _, err := os.Stat(tr.backup); !os.IsNotExist(err) {
		t.Errorf("backup dir created for an empty plan: %v", err)
	}
}

// Two concurrent fixes never interleave: with a short wait the second one
// refuses with a clear message; with a long one it runs after the first
// and then finds the files changed under its plan.
func TestApplyLockContention(t *testing.T) {
	tr := newTree(t, 2)
	p1, p2 := tr.plan(t), tr.plan(t)
	entered, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p1, Options{BackupDir: tr.backup,
			Hook: func(step string) error {
				if step == StepManifest {
					close(entered)
					<-release
				}
				return nil
			}})
		first <- err
	}()
	<-entered
	_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p2, Options{BackupDir: tr.backup, LockWait: 100 * time.Millisecond})
	if !errors.Is(err, platform.ErrLocked) || !strings.Contains(err.Error(), "another tlsfloor fix or rollback is running") {
		t.Fatalf("second Apply: %v, want ErrLocked", err)
	}
	_, err = Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true, LockWait: 100 * time.Millisecond})
	if !errors.Is(err, platform.ErrLocked) {
		t.Fatalf("rollback during apply: %v, want ErrLocked", err)
	}
	second := make(chan error, 1)
	go func() {
		_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p2, Options{BackupDir: tr.backup, LockWait: 30 * time.Second})
		second <- err
	}()
	time.Sleep(100 * time.Millisecond)
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first Apply: %v", err)
	}
	if err := <-second; !errors.Is(err, ErrDrift) {
		t.Fatalf("waiting Apply: %v, want ErrDrift after the first one wrote", err)
	}
	tr.assertFixed(t)
}

// Ownership survives the rewrite (needs root to give files away).
func TestApplyPreservesOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	tr := newTree(t, 3)
	for i, host := range []string{"/etc/nginx/nginx.conf", "/etc/nginx/sites-available/site.conf"} {
		if err := os.Chown(tr.fs.Real(host), 1000+i, 2000+i); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, tr.plan(t), Options{BackupDir: tr.backup})
	if err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for i, host := range []string{"/etc/nginx/nginx.conf", "/etc/nginx/sites-available/site.conf"} {
			fi, _ := os.Stat(tr.fs.Real(host))
			if a := platform.AttrOf(fi); a.UID != 1000+i || a.GID != 2000+i {
				t.Errorf("%s: owner %d:%d, want %d:%d", host, a.UID, a.GID, 1000+i, 2000+i)
			}
		}
	}
	check()
	// Rollback puts back the recorded owner and mode, not the current ones.
	os.Chown(tr.fs.Real("/etc/nginx/nginx.conf"), 0, 0)
	os.Chmod(tr.fs.Real("/etc/nginx/nginx.conf"), 0o600)
	if _, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, ID: res.BackupID}); err != nil {
		t.Fatal(err)
	}
	check()
	tr.assertOriginal(t)
	if fi, _ := os.Stat(tr.fs.Real("/etc/nginx/nginx.conf")); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestApplyHookFailureBeforeWritesLeavesNoBackup(t *testing.T) {
	tr := newTree(t, 3)
	_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, tr.plan(t), Options{BackupDir: tr.backup,
		Hook: func(step string) error {
			if step == StepBackup+":1" {
				return syscall.ENOSPC
			}
			return nil
		}})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v", err)
	}
	var rb *RolledBackError
	if errors.As(err, &rb) {
		t.Errorf("nothing was written, yet %v", err)
	}
	tr.assertOriginal(t)
	if infos, _ := List(tr.backup); len(infos) != 0 {
		t.Errorf("partial backup kept: %+v", infos)
	}
}
