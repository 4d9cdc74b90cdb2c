package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// ErrNoBackup means there is nothing to roll back.
var ErrNoBackup = errors.New("no registry backup to roll back")

// RollbackOptions choose the backup.
type RollbackOptions struct {
	BackupDir string
	ID        string // a backup id; or
	Last      bool   // the newest backup that is not rolled back yet
	// Force restores even when values changed after the fix, and backups
	// already rolled back.
	Force    bool
	LockWait time.Duration
}

// RollbackResult says what was restored.
type RollbackResult struct {
	ID       string `json:"id"`
	Dir      string `json:"dir"`
	Restored int    `json:"restored"`
	// Drifted lists values that had changed after the fix (only with Force).
	Drifted []string `json:"drifted,omitempty"`
}

// DriftError lists values that changed after the fix.
type DriftError struct {
	ID     string
	Values []string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("backup %s: these values changed after the fix, rerun with --force to restore anyway: %s", e.ID, strings.Join(e.Values, "; "))
}

func (e *DriftError) Unwrap() error { return ErrDrift }

// lastID is the newest backup that still has something to undo.
func lastID(backupDir string) (string, error) {
	list, err := List(backupDir)
	if err != nil {
		return "", err
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Status == StatusApplied || list[i].Status == StatusPending || list[i].Status == StatusRollbackFailed {
			return list[i].ID, nil
		}
	}
	return "", fmt.Errorf("%w in %s", ErrNoBackup, backupDir)
}

// Rollback restores a backup exactly: old values back, values the fix
// created deleted, keys the fix created deleted. It refuses when a value no
// longer holds what the fix wrote, unless Force.
//
// An error before any value is written (not elevated, no such backup,
// already rolled back, values changed since) is a *remediate.RefusedError.
func Rollback(ctx context.Context, deps Deps, opt RollbackOptions) (*RollbackResult, error) {
	res, err := rollback(ctx, deps, opt)
	if err != nil && res == nil {
		err = &remediate.RefusedError{Err: err}
	}
	return res, err
}

func rollback(ctx context.Context, deps Deps, opt RollbackOptions) (*RollbackResult, error) {
	if err := CheckElevated(deps.Elevation); err != nil {
		return nil, err
	}
	if _, err := os.Stat(opt.BackupDir); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoBackup, opt.BackupDir)
	}
	lock, err := platform.Lock(ctx, filepath.Join(opt.BackupDir, LockName), opt.LockWait)
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
		return nil, fmt.Errorf("invalid backup id %q", id)
	}
	dir := filepath.Join(opt.BackupDir, id)
	m, err := LoadManifest(dir)
	if err != nil {
		return nil, err
	}
	if m.Status == StatusRolledBack && !opt.Force {
		return nil, fmt.Errorf("backup %s was already rolled back; use --force to restore it again", id)
	}
	res := &RollbackResult{ID: id, Dir: dir, Restored: len(m.Values)}
	// A pending backup is a run that died while writing: each value holds
	// either its old or its new content.
	var drift []string
	for _, v := range m.Values {
		root, view, err := parseLoc(v.Root, v.View)
		if err != nil {
			return nil, err
		}
		cur, err := deps.Reg.GetDWORD(root, view, v.Key, v.Name)
		var now string
		switch {
		case errors.Is(err, platform.ErrNotExist):
			now = "(missing)"
		case err != nil:
			now = "unreadable: " + err.Error()
		default:
			now = fmt.Sprintf("%d", cur)
		}
		isNew := err == nil && cur == v.New
		isOld := (v.Existed && err == nil && cur == v.Old) || (!v.Existed && errors.Is(err, platform.ErrNotExist))
		if isNew || (isOld && m.Status != StatusApplied) {
			continue
		}
		drift = append(drift, fmt.Sprintf("%s [%s] is %s, the fix wrote %d", v.Path, v.Name, now, v.New))
	}
	if len(drift) > 0 {
		if !opt.Force {
			return nil, &DriftError{ID: id, Values: drift}
		}
		res.Drifted = drift
	}
	// restore takes no context on purpose: Ctrl-C must not leave a
	// half-restored registry.
	if err := restore(deps.Reg, m.Values, m.CreatedKeys); err != nil {
		m.setStatus(deps.Now(), StatusRollbackFailed, err.Error())
		_ = saveManifest(dir, m)
		return res, &RollbackFailedError{Dir: dir, Err: fmt.Errorf("rollback %s", id), RestoreErr: err}
	}
	m.setStatus(deps.Now(), StatusRolledBack, "tlsfloor rollback")
	if err := saveManifest(dir, m); err != nil {
		return res, err
	}
	return res, nil
}
