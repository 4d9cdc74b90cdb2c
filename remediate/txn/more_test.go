//go:build unix

package txn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// The Nth write of the transaction fails, before or after it reached the
// disk: every file is restored (the restore writes come after the failing
// one and succeed).
func TestApplyNthWriteFails(t *testing.T) {
	const n = 4
	for failAt := 1; failAt <= n; failAt++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("write%d-after=%v", failAt, after), func(t *testing.T) {
				tr := newTree(t, n)
				fw := &platformtest.FaultWriter{Writer: tr.fs, FailAt: failAt, After: after, Err: syscall.EIO}
				res, err := Apply(context.Background(), Deps{FS: fw, Runner: okRunner()}, tr.plan(t), Options{BackupDir: tr.backup})
				var rb *RolledBackError
				if !errors.As(err, &rb) || !errors.Is(err, syscall.EIO) {
					t.Fatalf("err = %v, want RolledBackError wrapping EIO", err)
				}
				tr.assertOriginal(t)
				// Only files that really changed are restored.
				wantRestored := failAt - 1
				if after {
					wantRestored++
				}
				if len(res.Restored) != wantRestored {
					t.Errorf("restored %v, want %d files", res.Restored, wantRestored)
				}
			})
		}
	}
}

// Files whose edits change nothing are neither written nor backed up.
func TestApplyWritesOnlyChangedFiles(t *testing.T) {
	tr := newTree(t, 4)
	p := tr.plan(t)
	p.Files[1].Edits = nil
	e := p.Files[2].Edits[0]
	p.Files[2].Edits = []remediate.Edit{{Start: e.Start, End: e.End, New: legacy}} // same bytes
	untouched := []string{p.Files[1].RealPath, p.Files[2].RealPath}
	var inodes []uint64
	for _, r := range untouched {
		fi, _ := os.Stat(tr.fs.Real(r))
		inodes = append(inodes, fi.Sys().(*syscall.Stat_t).Ino)
	}
	fw := &platformtest.FaultWriter{Writer: tr.fs}
	res, err := Apply(context.Background(), Deps{FS: fw, Runner: okRunner()}, p, Options{BackupDir: tr.backup})
	if err != nil {
		t.Fatal(err)
	}
	if len(fw.Writes) != 2 || len(res.Written) != 2 {
		t.Errorf("writes %v, want only the 2 changed files", fw.Writes)
	}
	for i, r := range untouched {
		fi, _ := os.Stat(tr.fs.Real(r))
		if fi.Sys().(*syscall.Stat_t).Ino != inodes[i] {
			t.Errorf("%s was rewritten", r)
		}
	}
	m, _ := LoadManifest(res.BackupPath)
	if len(m.Files) != 2 {
		t.Errorf("manifest lists %d files, want 2", len(m.Files))
	}
}

// Ctrl-C between writes stops the fix and restores everything; the
// restore itself is not interrupted.
func TestApplyCancelledPartWay(t *testing.T) {
	tr := newTree(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := Apply(ctx, Deps{FS: tr.fs, Runner: okRunner()}, tr.plan(t), Options{BackupDir: tr.backup,
		Hook: func(step string) error {
			if step == StepWrite+":1" {
				cancel()
			}
			return nil
		}})
	var rb *RolledBackError
	if !errors.As(err, &rb) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want RolledBackError wrapping context.Canceled", err)
	}
	tr.assertOriginal(t)
	if len(res.Restored) != 2 {
		t.Errorf("restored %v", res.Restored)
	}
}

func TestApplyRefusesBadPlans(t *testing.T) {
	tr := newTree(t, 2)
	if res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, nil, Options{BackupDir: tr.backup}); err != nil || res.BackupID != "" {
		t.Fatalf("nil plan: %+v %v", res, err)
	}
	overlap := tr.plan(t)
	overlap.Files[0].Edits = append(overlap.Files[0].Edits, overlap.Files[0].Edits[0])
	twice := tr.plan(t)
	twice.Files = append(twice.Files, twice.Files[1])
	twice.Files[2].Path = "/etc/nginx/sites-available/site.conf"
	for name, p := range map[string]*remediate.Plan{"overlapping edits": overlap, "same file twice": twice} {
		t.Run(name, func(t *testing.T) {
			if _, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p, Options{BackupDir: tr.backup}); err == nil {
				t.Fatal("accepted")
			}
			tr.assertOriginal(t)
		})
	}
}

func TestApplyRefusesBackupDirInConfigTree(t *testing.T) {
	tr := newTree(t, 2)
	for _, dir := range []string{"etc/nginx/backups", "etc/nginx", "etc/nginx/sites-available/x"} {
		_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, tr.plan(t), Options{BackupDir: filepath.Join(tr.root, dir)})
		if err == nil || !strings.Contains(err.Error(), "inside the config tree") {
			t.Errorf("%s: err = %v", dir, err)
		}
		if _, err := os.Stat(filepath.Join(tr.root, dir, LockName)); err == nil {
			t.Errorf("%s: lock file created in the config tree", dir)
		}
	}
	tr.assertOriginal(t)
	// A sibling of the config tree is fine.
	if _, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, tr.plan(t), Options{BackupDir: filepath.Join(tr.root, "var/lib/tlsfloor/backups")}); err != nil {
		t.Fatal(err)
	}
}

func TestApplyRefusesHardLinkedFile(t *testing.T) {
	tr := newTree(t, 3)
	p := tr.plan(t)
	other := tr.fs.Real("/etc/nginx/other-name.conf")
	if err := os.Link(tr.fs.Real(p.Files[2].RealPath), other); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, p, Options{BackupDir: tr.backup})
	if err == nil || !strings.Contains(err.Error(), "2 hard links") {
		t.Fatalf("err = %v, want a hard-link refusal", err)
	}
	tr.assertOriginal(t)
}
