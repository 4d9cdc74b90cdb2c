//go:build unix

package txn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// Environment of the re-executed test binary in TestKillAtEveryStep.
const (
	envKillHelper = "TLSFLOOR_TXN_KILL_HELPER" // "1" in the child
	envKillAt     = "TLSFLOOR_TXN_KILL_AT"     // step number to die at; 0 = never
	envKillRoot   = "TLSFLOOR_TXN_KILL_ROOT"
	envKillBackup = "TLSFLOOR_TXN_KILL_BACKUP"
	envKillMode   = "TLSFLOOR_TXN_KILL_MODE" // "apply" (default) or "rollback"
)

const killFiles = 6

// TestKillHelperProcess is the child of TestKillAtEveryStep: it applies the
// plan for the tree in envKillRoot and SIGKILLs itself at step envKillAt,
// counting every transaction step and every step inside each atomic write.
func TestKillHelperProcess(t *testing.T) {
	if os.Getenv(envKillHelper) != "1" {
		t.Skip("helper process for TestKillAtEveryStep")
	}
	killAt, _ := strconv.Atoi(os.Getenv(envKillAt))
	tr := &tree{root: os.Getenv(envKillRoot), backup: os.Getenv(envKillBackup)}
	tr.fs = platform.NewOSWriter(tr.root)
	tr.files = killTreeFiles()
	step := 0
	tick := func(what string) {
		step++
		if step == killAt {
			fmt.Fprintf(os.Stderr, "killing at step %d (%s)\n", step, what)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute) // the signal is asynchronous
		}
	}
	tr.fs.Hook = func(s platform.AtomicStep, name string) error { tick(string(s) + " " + name); return nil }
	if os.Getenv(envKillMode) == "rollback" {
		_, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true, LockWait: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("STEPS=%d\n", step)
		return
	}
	_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner(), Services: &platformtest.Services{}}, tr.plan(t), Options{
		BackupDir: tr.backup, Reload: true, LockWait: 5 * time.Second,
		Verify: func(context.Context) error { return nil },
		Hook:   func(s string) error { tick(s); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("STEPS=%d\n", step)
}

func killTreeFiles() []string {
	files := []string{"/etc/nginx/nginx.conf", "/etc/nginx/sites-enabled/site.conf"}
	for i := 2; i < killFiles; i++ {
		files = append(files, "/etc/nginx/conf.d/"+string(rune('a'+i-2))+".conf")
	}
	return files
}

func runKillChild(t *testing.T, tr *tree, killAt int, mode string) (stdout string, killed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelperProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envKillHelper+"=1", envKillAt+"="+strconv.Itoa(killAt),
		envKillRoot+"="+tr.root, envKillBackup+"="+tr.backup, envKillMode+"="+mode)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return out.String(), true
		}
	}
	if err != nil {
		t.Fatalf("child (kill at %d): %v\n%s\n%s", killAt, err, out.String(), errb.String())
	}
	return out.String(), false
}

// TestKillAtEveryStep kills a real fix with SIGKILL at every step point
// (after each backup copy, the manifest, and every step of every atomic
// write: create, write, fsync, chown/chmod, rename, directory fsync; then
// the config test, reload and verification) and checks after each kill
// that every config file holds its old or its new bytes, that a backup
// with a manifest is complete, and that rollback restores the originals
// byte for byte.
func TestKillAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("kills about 60 child processes")
	}
	if os.Getenv(envKillHelper) == "1" {
		t.Skip("in the helper")
	}
	// A run without a kill counts the steps.
	tr := newTree(t, killFiles)
	out, killed := runKillChild(t, tr, 0, "apply")
	if killed {
		t.Fatal("child killed without being asked")
	}
	var total int
	if _, err := fmt.Sscanf(out[strings.Index(out, "STEPS="):], "STEPS=%d", &total); err != nil {
		t.Fatalf("no step count in %q", out)
	}
	tr.assertFixed(t)
	if total < 50 {
		t.Fatalf("only %d step points; the test wants at least 50 kills", total)
	}

	kills := 0
	for k := 1; k <= total; k++ {
		tr := newTree(t, killFiles)
		if _, killed := runKillChild(t, tr, k, "apply"); !killed {
			t.Fatalf("step %d: child finished instead of dying", k)
		}
		kills++
		checkAfterKill(t, k, tr)
	}
	t.Logf("killed %d times at %d distinct step points", kills, total)
}

func checkAfterKill(t *testing.T, k int, tr *tree) {
	t.Helper()
	// 1. Each file is entirely old or entirely new.
	changed := 0
	for _, host := range tr.files {
		real, err := tr.fs.EvalSymlinks(host)
		if err != nil {
			t.Fatalf("step %d: %s: %v", k, host, err)
		}
		got := tr.read(t, real)
		newer := bytes.Replace(tr.orig[real], []byte(legacy), []byte(fixed), 1)
		switch {
		case bytes.Equal(got, tr.orig[real]):
		case bytes.Equal(got, newer):
			changed++
		default:
			t.Fatalf("step %d: %s is neither old nor new:\n%q", k, host, got)
		}
	}
	tr.assertLink(t)
	// Leftover temporary files may exist, but only under the glob-safe name.
	for _, p := range tempFiles(t, tr.root) {
		if ok, _ := filepath.Match(platform.TempPattern, filepath.Base(p)); !ok {
			t.Fatalf("step %d: stray file %s", k, p)
		}
	}
	// 2. A backup with a manifest is complete.
	infos, err := List(tr.backup)
	if err != nil {
		t.Fatal(err)
	}
	complete := false
	for _, info := range infos {
		if info.Status == StatusIncomplete {
			continue
		}
		complete = true
		m, err := LoadManifest(info.Path)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Files) != killFiles {
			t.Fatalf("step %d: manifest lists %d files", k, len(m.Files))
		}
		for _, r := range m.Files {
			b, err := os.ReadFile(filepath.Join(info.Path, r.Backup))
			if err != nil || sum(b) != r.SHA256 || !bytes.Equal(b, tr.orig[r.RealPath]) {
				t.Fatalf("step %d: backup of %s incomplete (%v)", k, r.Path, err)
			}
		}
	}
	if changed > 0 && !complete {
		t.Fatalf("step %d: %d files changed without a complete backup", k, changed)
	}
	// 3. Rollback restores byte for byte; the dead process's lock is gone.
	_, err = Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true, LockWait: time.Second})
	switch {
	case err == nil:
	case !complete && errors.Is(err, ErrNoBackup):
	default:
		t.Fatalf("step %d: rollback: %v", k, err)
	}
	tr.assertOriginal(t)
	if complete {
		if tf := tempFiles(t, tr.root); len(tf) != 0 {
			t.Errorf("step %d: rollback left temporary files %v", k, tf)
		}
	}
}

// TestKillRollbackAtEveryStep kills `rollback` itself at every step of
// every restore write: each file is then its fixed or its original bytes,
// and running rollback again finishes the job.
func TestKillRollbackAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("kills about 40 child processes")
	}
	if os.Getenv(envKillHelper) == "1" {
		t.Skip("in the helper")
	}
	fixedTree := func() *tree {
		tr := newTree(t, killFiles)
		tr.files = killTreeFiles()
		if _, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, tr.plan(t), Options{BackupDir: tr.backup}); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tr := fixedTree()
	out, killed := runKillChild(t, tr, 0, "rollback")
	if killed {
		t.Fatal("child killed without being asked")
	}
	var total int
	if _, err := fmt.Sscanf(out[strings.Index(out, "STEPS="):], "STEPS=%d", &total); err != nil {
		t.Fatalf("no step count in %q", out)
	}
	tr.assertOriginal(t)
	for k := 1; k <= total; k++ {
		tr := fixedTree()
		if _, killed := runKillChild(t, tr, k, "rollback"); !killed {
			t.Fatalf("step %d: child finished instead of dying", k)
		}
		checkAfterKill(t, k, tr)
	}
	t.Logf("killed rollback %d times", total)
}
