package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// ErrNotElevated means the process cannot write HKLM.
var ErrNotElevated = errors.New("changing these settings needs administrator rights: run this from an elevated prompt (Run as administrator)")

// ErrDrift means a value changed between planning (or the fix) and now.
var ErrDrift = errors.New("registry changed since")

// Deps are what Apply and Rollback touch.
type Deps struct {
	Reg       platform.Registry
	Elevation platform.Elevation
	Now       func() time.Time
	// Log receives progress lines (stderr in the CLI); nil discards them.
	Log io.Writer
}

func (d Deps) logf(format string, args ...any) {
	if d.Log != nil {
		fmt.Fprintf(d.Log, format+"\n", args...)
	}
}

// ApplyOptions configure Apply.
type ApplyOptions struct {
	BackupDir   string
	ToolVersion string
	// LockWait is how long to wait for another run's lock (0: fail at once).
	LockWait time.Duration
}

// Result is a successful Apply.
type Result struct {
	ID              string
	Dir             string
	Written         int
	RestartRequired bool
}

// RolledBackError: a write failed part-way and every value was put back.
type RolledBackError struct {
	Dir string
	Err error
}

func (e *RolledBackError) Error() string {
	return fmt.Sprintf("%v; every value was put back (backup %s)", e.Err, e.Dir)
}

func (e *RolledBackError) Unwrap() error { return e.Err }

// RollbackFailedError: putting values back failed too; the backup has the
// old values.
type RollbackFailedError struct {
	Dir        string
	Err        error
	RestoreErr error
}

func (e *RollbackFailedError) Error() string {
	return fmt.Sprintf("%v; putting the old values back failed: %v; restore them by hand with: reg import %s /reg:64",
		e.Err, e.RestoreErr, filepath.Join(e.Dir, RegFileName))
}

func (e *RollbackFailedError) Unwrap() error { return e.RestoreErr }

// CheckElevated returns ErrNotElevated unless the process is elevated.
func CheckElevated(e platform.Elevation) error {
	if e == nil {
		return ErrNotElevated
	}
	ok, err := e.Elevated()
	if err != nil {
		return fmt.Errorf("check elevation: %w", err)
	}
	if !ok {
		return ErrNotElevated
	}
	return nil
}

func record(c Change) ValueRecord {
	v := ValueRecord{Root: c.Root.String(), View: c.View.String(), Key: c.Key, Path: c.Path, Name: c.Name, New: c.New}
	if c.Old != nil {
		v.Existed, v.Old = true, *c.Old
	}
	return v
}

// missingKeys lists, parents first, the keys the plan's writes will create.
func missingKeys(reg platform.Registry, changes []Change) ([]KeyRecord, error) {
	seen := map[string]bool{}
	var out []KeyRecord
	for _, c := range changes {
		var chain []string
		for k := c.Key; k != ""; k = platform.ParentKey(k) {
			id := c.Root.String() + `\` + strings.ToLower(platform.PhysicalKey(c.Root, c.View, k))
			if seen[id] {
				break
			}
			ok, err := reg.KeyExists(c.Root, c.View, k)
			if err != nil {
				return nil, fmt.Errorf("registry: %w", err)
			}
			seen[id] = true
			if ok {
				break
			}
			chain = append(chain, k)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			out = append(out, KeyRecord{Root: c.Root.String(), View: c.View.String(), Key: chain[i], Path: platform.KeyPath(c.Root, c.View, chain[i])})
		}
	}
	return out, nil
}

// Apply writes the plan: elevation check, lock, drift check, backup
// (.reg and manifest), the writes, and a read-back. A failed write puts
// back every value already written and deletes the keys it created
// (*RolledBackError); if that fails too, *RollbackFailedError names the
// backup. Restoring ignores ctx cancellation so Ctrl-C cannot leave half a
// change behind.
func Apply(ctx context.Context, deps Deps, plan *Plan, opt ApplyOptions) (*Result, error) {
	if err := CheckElevated(deps.Elevation); err != nil {
		return nil, err
	}
	if plan.Empty() {
		return &Result{}, nil
	}
	if err := os.MkdirAll(opt.BackupDir, 0o700); err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	lock, err := platform.Lock(ctx, filepath.Join(opt.BackupDir, LockName), opt.LockWait)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()

	// Someone may have changed a value while the user read the diff.
	for _, c := range plan.Changes {
		v, err := deps.Reg.GetDWORD(c.Root, c.View, c.Key, c.Name)
		switch {
		case errors.Is(err, platform.ErrNotExist):
			if c.Old != nil {
				return nil, fmt.Errorf("%w planning: %s [%s] was deleted; run fix again", ErrDrift, c.Path, c.Name)
			}
		case err != nil:
			return nil, fmt.Errorf("registry: %w", err)
		case c.Old == nil || *c.Old != v:
			return nil, fmt.Errorf("%w planning: %s [%s] is now %d; run fix again", ErrDrift, c.Path, c.Name, v)
		}
	}
	created, err := missingKeys(deps.Reg, plan.Changes)
	if err != nil {
		return nil, err
	}
	now := deps.Now()
	id, err := newID(now)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(opt.BackupDir, id)
	m := &Manifest{SchemaVersion: ManifestSchemaVersion, Kind: ManifestKind, ID: id, Created: now.UTC(),
		ToolVersion: opt.ToolVersion, OS: plan.OS.String(), CreatedKeys: created, RegFile: RegFileName}
	if m.CreatedKeys == nil {
		m.CreatedKeys = []KeyRecord{}
	}
	for _, c := range plan.Changes {
		m.Values = append(m.Values, record(c))
	}
	m.setStatus(now, StatusPending, "backup written; writing values")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := writeFileSync(filepath.Join(dir, RegFileName), RegFile(m)); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := saveManifest(dir, m); err != nil {
		return nil, err
	}
	deps.logf("backup %s written to %s", id, dir)

	fail := func(cause error, written int) error {
		rerr := restore(deps.Reg, m.Values[:written], created)
		if rerr != nil {
			m.setStatus(deps.Now(), StatusRollbackFailed, rerr.Error())
			_ = saveManifest(dir, m)
			return &RollbackFailedError{Dir: dir, Err: cause, RestoreErr: rerr}
		}
		m.setStatus(deps.Now(), StatusRolledBack, "fix failed: "+cause.Error())
		_ = saveManifest(dir, m)
		return &RolledBackError{Dir: dir, Err: cause}
	}
	for i, c := range plan.Changes {
		if err := deps.Reg.SetDWORD(c.Root, c.View, c.Key, c.Name, c.New); err != nil {
			// The failed write may have created keys or half-applied; restore
			// it along with the earlier ones.
			return nil, fail(fmt.Errorf("write %s [%s]: %w", c.Path, c.Name, err), i+1)
		}
	}
	for _, c := range plan.Changes {
		v, err := deps.Reg.GetDWORD(c.Root, c.View, c.Key, c.Name)
		if err != nil || v != c.New {
			return nil, fail(fmt.Errorf("read back %s [%s]: got %d, %v; want %d", c.Path, c.Name, v, err, c.New), len(plan.Changes))
		}
	}
	m.setStatus(deps.Now(), StatusApplied, "")
	if err := saveManifest(dir, m); err != nil {
		return nil, err
	}
	return &Result{ID: id, Dir: dir, Written: len(plan.Changes), RestartRequired: plan.RestartRequired()}, nil
}

// restore puts values back (newest first) and then deletes the created keys
// (deepest first) that are empty again. It keeps going after an error so
// as much as possible is restored, and returns every error.
func restore(reg platform.Registry, values []ValueRecord, created []KeyRecord) error {
	var errs []error
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		root, view, err := parseLoc(v.Root, v.View)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if v.Existed {
			if err := reg.SetDWORD(root, view, v.Key, v.Name, v.Old); err != nil {
				errs = append(errs, fmt.Errorf("restore %s [%s]: %w", v.Path, v.Name, err))
			}
			continue
		}
		if err := reg.DeleteValue(root, view, v.Key, v.Name); err != nil && !errors.Is(err, platform.ErrNotExist) {
			errs = append(errs, fmt.Errorf("delete %s [%s]: %w", v.Path, v.Name, err))
		}
	}
	keys := append([]KeyRecord(nil), created...)
	sort.SliceStable(keys, func(i, j int) bool { return strings.Count(keys[i].Key, `\`) > strings.Count(keys[j].Key, `\`) })
	for _, k := range keys {
		root, view, err := parseLoc(k.Root, k.View)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok, err := reg.KeyExists(root, view, k.Key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue
		}
		names, err := reg.ValueNames(root, view, k.Key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		subs, err := reg.SubKeyNames(root, view, k.Key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(names) > 0 || len(subs) > 0 {
			// Someone else put something there after the fix: keep it.
			errs = append(errs, fmt.Errorf("%s was created by the fix but now holds other values or keys; left in place", k.Path))
			continue
		}
		if err := reg.DeleteKey(root, view, k.Key); err != nil {
			errs = append(errs, fmt.Errorf("delete key %s: %w", k.Path, err))
		}
	}
	return errors.Join(errs...)
}
