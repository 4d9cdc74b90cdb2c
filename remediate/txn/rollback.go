package txn

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// RollbackOptions control Rollback. Give ID or Last.
type RollbackOptions struct {
	BackupDir string
	ID        string
	Last      bool
	// Force restores files that were changed after the fix, and backups
	// already rolled back.
	Force bool
	// Reload (or Restart) the servers recorded in the manifest afterwards.
	Reload, Restart bool
	// Root is --root; it must match the root the fix ran with (unless
	// Force), or the files would be written to the wrong tree.
	Root     string
	Now      func() time.Time
	LockWait time.Duration
}

// RollbackResult is what Rollback did.
type RollbackResult struct {
	BackupID   string `json:"backup_id"`
	BackupPath string `json:"backup_path"`
	// Restored files were put back; Unchanged already had their original
	// bytes, mode and owner (e.g. the fix was killed before writing them).
	Restored  []string `json:"restored"`
	Unchanged []string `json:"unchanged"`
	// Forced files had been changed by someone else after the fix and were
	// overwritten because of Force.
	Forced []string       `json:"forced,omitempty"`
	Reload []ReloadResult `json:"reload,omitempty"`
	Status Status         `json:"status"`
	// Files are the manifest's records.
	Files []FileRecord `json:"files"`
}

// ErrAlreadyRolledBack: the chosen backup was restored before.
var ErrAlreadyRolledBack = errors.New("already rolled back")

// ErrNoBackup: there is no backup to restore.
var ErrNoBackup = errors.New("no backup found")

// DriftError lists files changed by someone else after the fix.
type DriftError struct {
	BackupID string
	Files    []string // "path: reason"
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("backup %s: refusing to roll back, changed after the fix (use --force to overwrite):\n  %s",
		e.BackupID, strings.Join(e.Files, "\n  "))
}

func (e *DriftError) Unwrap() error { return ErrDrift }

// Rollback restores a backup: every byte, mode and owner. It refuses when a
// file is neither what the fix wrote nor the original (someone edited it
// since), unless Force. Files still holding their original bytes are left
// alone, so a backup from a killed fix restores cleanly.
//
// An error before any file is restored (no such backup, already rolled
// back, another --root, files changed since, the backups unreadable) is a
// *remediate.RefusedError: nothing was written.
func Rollback(ctx context.Context, deps Deps, opt RollbackOptions) (*RollbackResult, error) {
	res, err := rollback(ctx, deps, opt)
	var rf *RollbackFailedError
	if err != nil && (res == nil || len(res.Restored) == 0) && !errors.As(err, &rf) {
		err = &remediate.RefusedError{Err: err}
	}
	return res, err
}

func rollback(ctx context.Context, deps Deps, opt RollbackOptions) (*RollbackResult, error) {
	if deps.FS == nil {
		return nil, errors.New("rollback: needs a file system")
	}
	if (opt.Reload || opt.Restart) && deps.Services == nil {
		return nil, errors.New("rollback: reload needs a service manager")
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	if _, err := os.Stat(opt.BackupDir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s", ErrNoBackup, opt.BackupDir)
		}
		return nil, fmt.Errorf("rollback: %w", err)
	}
	wait := opt.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	lock, err := platform.Lock(ctx, filepath.Join(opt.BackupDir, LockName), wait)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()

	id := opt.ID
	if opt.Last {
		if id, err = lastID(opt.BackupDir); err != nil {
			return nil, err
		}
	}
	if !validID(id) {
		return nil, fmt.Errorf("rollback: invalid backup id %q", id)
	}
	dir := filepath.Join(opt.BackupDir, id)
	m, err := LoadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr != nil {
			return nil, fmt.Errorf("%w: %s in %s", ErrNoBackup, id, opt.BackupDir)
		}
		return nil, fmt.Errorf("backup %s is incomplete (no manifest): the fix stopped while backing up, before changing any file", id)
	}
	if err != nil {
		return nil, err
	}
	res := &RollbackResult{BackupID: id, BackupPath: dir, Status: m.Status, Files: m.Files}
	if m.Status == StatusRolledBack && !opt.Force {
		when := ""
		if n := len(m.History); n > 0 {
			when = " at " + m.History[n-1].Time.Format(time.RFC3339)
		}
		return res, fmt.Errorf("backup %s: %w%s; give --force to restore it again", id, ErrAlreadyRolledBack, when)
	}

	if cleanRoot(m.Root) != cleanRoot(opt.Root) && !opt.Force {
		return res, fmt.Errorf("backup %s was made with --root %q, not %q: give the same --root (or --force)", id, m.Root, opt.Root)
	}

	// Decide per file before writing anything, so a refusal changes nothing.
	var drift []string
	for _, r := range m.Files {
		reason := ""
		cur, err := deps.FS.ReadFile(r.RealPath)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			reason = "file is missing"
		case err != nil:
			return res, fmt.Errorf("rollback: %s: %w", r.Path, err)
		case sum(cur) == r.SHA256New:
		case sum(cur) == r.SHA256:
			// Original bytes: only mode or owner may need putting back.
		default:
			reason = "content differs from what the fix wrote"
		}
		if reason == "" && r.WasSymlink {
			if fi, err := deps.FS.Lstat(r.Path); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				reason = "was a symbolic link to " + r.RealPath + ", is not any more"
			}
		}
		if reason != "" {
			if !opt.Force {
				drift = append(drift, r.Path+": "+reason)
				continue
			}
			res.Forced = append(res.Forced, r.Path)
		}
	}
	if len(drift) > 0 {
		return res, &DriftError{BackupID: id, Files: drift}
	}

	// Restoring must not stop half-way on Ctrl-C.
	ctx = context.WithoutCancel(ctx)
	restored, rerr := restoreFiles(deps.FS, dir, m.Files)
	res.Restored = restored
	for _, r := range m.Files {
		if !contains(restored, r.Path) {
			res.Unchanged = append(res.Unchanged, r.Path)
		}
	}
	if rerr != nil {
		m.setStatus(now(), StatusRollbackFailed, "rollback: "+rerr.Error())
		if merr := saveManifest(dir, m); merr != nil {
			rerr = errors.Join(rerr, merr)
		}
		res.Status = m.Status
		return res, &RollbackFailedError{RestoreErr: rerr, BackupID: id, BackupPath: dir}
	}
	note := "rollback"
	if len(res.Forced) > 0 {
		note = "rollback --force"
	}
	m.setStatus(now(), StatusRolledBack, note)
	res.Status = m.Status
	if err := saveManifest(dir, m); err != nil {
		return res, fmt.Errorf("rollback: files restored, but %w", err)
	}
	removeStaleTemps(deps.FS, m.Files)

	if opt.Reload || opt.Restart {
		t := &txn{deps: deps, opt: Options{Restart: opt.Restart}, now: now, res: &Result{}}
		for _, s := range m.Servers {
			t.servers = append(t.servers, remediate.Server{Kind: s.Kind, Main: s.Main, Binary: s.Binary, TestArgv: s.TestArgv})
		}
		if deps.Runner != nil {
			if out, err := t.configTests(ctx, "restore"); err != nil {
				return res, fmt.Errorf("rollback: files restored, but the config test fails, not reloading: %w\n%s", err, out)
			}
		}
		err := t.reloadAll(ctx, "restore", t.servers)
		res.Reload = t.res.Reload
		if err != nil {
			return res, fmt.Errorf("rollback: files restored, but %w", err)
		}
	}
	return res, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lastID is the newest backup with a manifest; a backup without one never
// touched a config file.
func lastID(backupDir string) (string, error) {
	infos, err := List(backupDir)
	if err != nil {
		return "", err
	}
	for i := len(infos) - 1; i >= 0; i-- {
		if infos[i].Status != StatusIncomplete {
			return infos[i].ID, nil
		}
	}
	return "", fmt.Errorf("%w in %s", ErrNoBackup, backupDir)
}

// removeStaleTemps deletes temporary files a killed fix may have left next
// to the restored files. Only names of our own pattern are touched.
func removeStaleTemps(fsys platform.Writer, recs []FileRecord) {
	rm, ok := fsys.(interface{ Remove(name string) error })
	if !ok {
		return
	}
	dirs := map[string]bool{}
	for _, r := range recs {
		dirs[filepath.ToSlash(filepath.Dir(r.RealPath))] = true
	}
	for d := range dirs {
		matches, err := fsys.Glob(strings.TrimSuffix(d, "/") + "/" + platform.TempPattern)
		if err != nil {
			continue
		}
		for _, mt := range matches {
			_ = rm.Remove(mt)
		}
	}
}

func cleanRoot(r string) string {
	if r == "" {
		return "/"
	}
	return filepath.Clean(r)
}
