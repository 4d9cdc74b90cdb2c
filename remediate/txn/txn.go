// Package txn applies a remediate.Plan to configuration files as one
// transaction: lock, drift check, backup outside the config tree with a
// manifest, atomic writes, the servers' own config tests, optional reload
// and verification, and automatic restore on any failure. It also restores
// a backup on request (tlsfloor rollback) and lists backups.
//
// It imports remediate and platform, never cmd: failures carry typed
// errors (*RolledBackError, *RollbackFailedError, ErrDrift) that the
// command layer maps to exit codes.
package txn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// Options control Apply.
type Options struct {
	// BackupDir is a local directory (not mapped under Root) holding one
	// subdirectory per backup and the lock file.
	BackupDir string
	// Reload or Restart the servers after their config tests pass.
	Reload, Restart bool
	// Verify, when set, runs after the reload (or after the config test
	// when not reloading); an error rolls everything back.
	Verify func(ctx context.Context) error
	// Root is --root, recorded in the manifest; Deps.FS does the mapping.
	Root string
	// Now defaults to time.Now.
	Now func() time.Time
	// LockWait is how long to wait for another fix or rollback (default
	// DefaultLockWait).
	LockWait time.Duration
	// Hook, when set, is called at each step (see the Step* names); an
	// error it returns fails the transaction there. For fault and crash
	// tests.
	Hook func(step string) error
}

// DefaultLockWait is how long a fix or rollback waits for another one.
const DefaultLockWait = 10 * time.Second

// LockName is the lock file inside the backup directory.
const LockName = ".lock"

// Steps passed to Options.Hook. File steps get ":<index>" appended.
const (
	StepLocked   = "locked"   // lock held, nothing checked yet
	StepBackup   = "backup"   // after the original of file i is saved
	StepManifest = "manifest" // after the manifest is durable; nothing written yet
	StepWrite    = "write"    // after file i is written
	StepTest     = "test"     // after every config test passed
	StepReload   = "reload"   // after every reload
	StepVerify   = "verify"   // after verification
)

// Deps are Apply's and Rollback's ways to the system.
type Deps struct {
	// FS reads and atomically writes config files (host paths, rooted).
	FS       platform.Writer
	Runner   platform.Runner
	Services platform.ServiceManager
	// Out gets progress lines (stderr); nil discards them.
	Out io.Writer
}

// TestResult is one server's config test.
type TestResult struct {
	Server string   `json:"server"`
	Argv   []string `json:"argv"`
	Output string   `json:"output"`
	OK     bool     `json:"ok"`
	// Phase is "apply", or "restore" for the test after a rollback.
	Phase string `json:"phase"`
}

// ReloadResult is one server's reload or restart.
type ReloadResult struct {
	Server string   `json:"server"`
	Method string   `json:"method,omitempty"`
	Argv   []string `json:"argv,omitempty"`
	Output string   `json:"output,omitempty"`
	OK     bool     `json:"ok"`
	Error  string   `json:"error,omitempty"`
	Phase  string   `json:"phase"`
}

// Result is what Apply did. It is filled in as far as Apply got, also
// when it returns an error.
type Result struct {
	BackupID   string         `json:"backup_id,omitempty"`
	BackupPath string         `json:"backup_path,omitempty"`
	Written    []string       `json:"written,omitempty"`
	ConfigTest []TestResult   `json:"config_test,omitempty"`
	Reload     []ReloadResult `json:"reload,omitempty"`
	Verified   bool           `json:"verified"`
	RolledBack bool           `json:"rolled_back"`
	// Restored are the files put back during a rollback.
	Restored []string `json:"restored,omitempty"`
}

// ErrDrift: a file no longer has the bytes the plan (or the fix) left.
var ErrDrift = errors.New("changed since the plan was made")

// RolledBackError: the change failed at Stage (write, test, reload,
// verify) and every file was restored (exit 5).
type RolledBackError struct {
	Stage      string
	Err        error
	BackupPath string
	// Output is the failing command's output (config test), if any.
	Output string
}

func (e *RolledBackError) Error() string {
	return fmt.Sprintf("%s failed, every file was restored from %s: %v", e.Stage, e.BackupPath, e.Err)
}

func (e *RolledBackError) Unwrap() error { return e.Err }

// NotWritableError: a planned file's directory cannot be written by this
// process (not root, or a read-only file system). It is found before the
// backup, so nothing was changed (exit 2, like an unelevated fix on
// Windows).
type NotWritableError struct {
	Path string
	Err  error
}

func (e *NotWritableError) Error() string {
	hint := ""
	if errors.Is(e.Err, fs.ErrPermission) {
		hint = " (run tlsfloor fix as root, or as the owner of the configuration)"
	}
	return fmt.Sprintf("cannot replace %s: %v; nothing was changed%s", e.Path, e.Err, hint)
}

func (e *NotWritableError) Unwrap() error { return e.Err }

// RollbackFailedError: restoring (or reloading after restoring) failed
// too; manual action is needed (exit 6).
type RollbackFailedError struct {
	Stage      string // what failed first ("" for tlsfloor rollback)
	Err        error  // the first failure
	RestoreErr error
	BackupID   string
	BackupPath string
}

func (e *RollbackFailedError) Error() string {
	var b strings.Builder
	if e.Stage != "" {
		fmt.Fprintf(&b, "%s failed (%v); ", e.Stage, e.Err)
	}
	fmt.Fprintf(&b, "restoring failed: %v; the original files are in %s (manifest %s): fix the cause and run `tlsfloor rollback %s`, or copy them back by hand",
		e.RestoreErr, e.BackupPath, filepath.Join(e.BackupPath, ManifestName), e.BackupID)
	return b.String()
}

func (e *RollbackFailedError) Unwrap() error { return e.RestoreErr }

// change is one file of the plan with its new bytes.
type change struct {
	fc    *remediate.FileChange
	after []byte
}

type txn struct {
	deps     Deps
	opt      Options
	now      func() time.Time
	dir      string // this backup's directory
	m        *Manifest
	res      *Result
	servers  []remediate.Server
	reloaded []remediate.Server // attempted, so reloaded again after a restore
}

func (t *txn) printf(format string, args ...any) {
	if t.deps.Out != nil {
		fmt.Fprintf(t.deps.Out, "tlsfloor: "+format+"\n", args...)
	}
}

func (t *txn) hook(step string) error {
	if t.opt.Hook == nil {
		return nil
	}
	if err := t.opt.Hook(step); err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	return nil
}

// Preflight reports, without writing, whether every file plan changes can
// be replaced: a *NotWritableError for the first that cannot. Apply calls
// it before the backup; fix calls it before asking for confirmation too.
// Writers that cannot tell (no CheckWritable method) pass.
func Preflight(fsys platform.Writer, plan *remediate.Plan) error {
	cw, ok := fsys.(interface{ CheckWritable(string) error })
	if !ok || plan == nil {
		return nil
	}
	for i := range plan.Files {
		fc := &plan.Files[i]
		after, err := fc.After()
		if err != nil || bytes.Equal(after, fc.Before) {
			continue // Apply reports a bad edit; an unchanged file is not written
		}
		if err := cw.CheckWritable(fc.Path); err != nil {
			return &NotWritableError{Path: fc.Path, Err: err}
		}
	}
	return nil
}

// Apply writes plan as one transaction. Nothing is written when the plan
// is empty (no backup either) or when a file drifted (ErrDrift). A failure
// after the first write restores every file and returns *RolledBackError,
// or *RollbackFailedError when restoring failed.
func Apply(ctx context.Context, deps Deps, plan *remediate.Plan, opt Options) (*Result, error) {
	res := &Result{}
	if plan == nil {
		return res, nil
	}
	if deps.FS == nil || deps.Runner == nil {
		return res, errors.New("fix: transaction needs a file system and a runner")
	}
	if (opt.Reload || opt.Restart) && deps.Services == nil {
		return res, errors.New("fix: reload needs a service manager")
	}
	if opt.BackupDir == "" {
		return res, errors.New("fix: no backup directory")
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	var changes []change
	for i := range plan.Files {
		fc := &plan.Files[i]
		after, err := fc.After()
		if err != nil {
			return res, err
		}
		if !bytes.Equal(after, fc.Before) {
			changes = append(changes, change{fc: fc, after: after})
		}
	}
	if len(changes) == 0 {
		return res, nil
	}
	if err := outsideConfigTree(deps.FS, opt.BackupDir, plan); err != nil {
		return res, err
	}
	// Refuse before the backup when a file cannot be replaced at all.
	if err := Preflight(deps.FS, plan); err != nil {
		return res, err
	}
	if err := ensureBackupDir(opt.BackupDir); err != nil {
		return res, err
	}
	wait := opt.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	lock, err := platform.Lock(ctx, filepath.Join(opt.BackupDir, LockName), wait)
	if err != nil {
		return res, err
	}
	defer lock.Unlock()

	t := &txn{deps: deps, opt: opt, now: now, res: res, servers: plan.Servers}
	if err := t.hook(StepLocked); err != nil {
		return res, err
	}
	recs, originals, err := t.check(changes)
	if err != nil {
		return res, err
	}
	if err := t.backup(recs, originals); err != nil {
		return res, err
	}

	// From here on config files change; every failure restores.
	for i, c := range changes {
		if err := ctx.Err(); err != nil {
			return res, t.rollback(ctx, "write", err)
		}
		attr, err := recs[i].attr()
		if err != nil {
			return res, t.rollback(ctx, "write", err)
		}
		if err := deps.FS.WriteFileAtomic(recs[i].RealPath, c.after, attr); err != nil {
			return res, t.rollback(ctx, "write", err)
		}
		res.Written = append(res.Written, c.fc.Path)
		t.printf("wrote %s", describePath(recs[i]))
		if err := t.hook(fmt.Sprintf("%s:%d", StepWrite, i)); err != nil {
			return res, t.rollback(ctx, "write", err)
		}
	}

	if out, err := t.configTests(ctx, "apply"); err != nil {
		return res, t.rollbackOut(ctx, "config test", err, out)
	}
	if err := t.hook(StepTest); err != nil {
		return res, t.rollback(ctx, "config test", err)
	}
	if opt.Reload || opt.Restart {
		if err := t.reloadAll(ctx, "apply", t.servers); err != nil {
			return res, t.rollback(ctx, "reload", err)
		}
		if err := t.hook(StepReload); err != nil {
			return res, t.rollback(ctx, "reload", err)
		}
	}
	if opt.Verify != nil {
		if err := opt.Verify(ctx); err != nil {
			return res, t.rollback(ctx, "verify", err)
		}
		res.Verified = true
		if err := t.hook(StepVerify); err != nil {
			return res, t.rollback(ctx, "verify", err)
		}
	}
	t.m.setStatus(now(), StatusApplied, "")
	if err := saveManifest(t.dir, t.m); err != nil {
		// The change itself succeeded; a stale "pending" status only makes
		// rollback check the hashes it checks anyway.
		t.printf("warning: %v", err)
	}
	return res, nil
}

func describePath(r FileRecord) string {
	if r.RealPath != r.Path {
		return fmt.Sprintf("%s (-> %s)", r.Path, r.RealPath)
	}
	return r.Path
}

// outsideConfigTree refuses a backup directory inside a directory that
// holds a planned file or a server's main config: an nginx `include` or
// Apache `IncludeOptional` glob there could load the backup. It needs a
// writer that can map host paths to local ones (platform.OSWriter does).
func outsideConfigTree(fsys platform.Writer, backupDir string, plan *remediate.Plan) error {
	mapper, ok := fsys.(interface{ Real(string) string })
	if !ok {
		return nil
	}
	backup, err := filepath.Abs(backupDir)
	if err != nil {
		return fmt.Errorf("backup directory: %w", err)
	}
	var dirs []string
	for _, f := range plan.Files {
		dirs = append(dirs, hostDir(f.Path))
		if f.RealPath != "" {
			dirs = append(dirs, hostDir(f.RealPath))
		}
	}
	for _, s := range plan.Servers {
		if s.Main != "" {
			dirs = append(dirs, hostDir(s.Main))
		}
	}
	for _, d := range dirs {
		if d == "/" || d == "." {
			// A config file directly in / says nothing about a tree.
			continue
		}
		local := mapper.Real(d)
		if r, err := filepath.EvalSymlinks(local); err == nil {
			local = r
		}
		rel, err := filepath.Rel(local, backup)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("backup directory %s is inside the config tree %s, where an include could load it: choose another --backup-dir", backupDir, d)
		}
	}
	return nil
}

func hostDir(p string) string { return path.Dir(filepath.ToSlash(p)) }

// ensureBackupDir creates the backup directory 0700. An existing one is
// left as the admin made it.
func ensureBackupDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("backup directory: %w (run as root, or choose a writable --backup-dir outside the configuration)", err)
		}
		return fmt.Errorf("backup directory: %w", err)
	}
	return nil
}

// check resolves each file, refuses drift, and records what the manifest
// needs. Nothing is written.
func (t *txn) check(changes []change) ([]FileRecord, [][]byte, error) {
	fsys := t.deps.FS
	recs := make([]FileRecord, len(changes))
	originals := make([][]byte, len(changes))
	seen := map[string]string{}
	for i, c := range changes {
		fc := c.fc
		real := fc.RealPath
		if real == "" {
			var err error
			if real, err = fsys.EvalSymlinks(fc.Path); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", fc.Path, err)
			}
		}
		if other, dup := seen[real]; dup {
			return nil, nil, fmt.Errorf("%s: same file as %s (%s) planned twice", fc.Path, other, real)
		}
		seen[real] = fc.Path
		lfi, err := fsys.Lstat(fc.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", fc.Path, err)
		}
		fi, err := fsys.Lstat(real)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", fc.Path, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, nil, fmt.Errorf("%s: %s is not a regular file", fc.Path, real)
		}
		if n := platform.LinkCount(fi); n > 1 {
			// Replacing by rename would leave the other names with the old
			// bytes, silently.
			return nil, nil, fmt.Errorf("%s: %s has %d hard links; an atomic replace would split them, so it is not changed (make it a single file or a symlink)", fc.Path, real, n)
		}
		cur, err := fsys.ReadFile(real)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", fc.Path, err)
		}
		// The edits are offsets into Before, so the file must hold exactly
		// those bytes, and they must be the bytes the plan hashed.
		if !bytes.Equal(cur, fc.Before) || fc.BeforeSum != sha256.Sum256(cur) {
			return nil, nil, fmt.Errorf("%s: %w", fc.Path, ErrDrift)
		}
		attr := platform.AttrOf(fi)
		recs[i] = FileRecord{
			Path: fc.Path, RealPath: real, WasSymlink: lfi.Mode()&fs.ModeSymlink != 0,
			Mode: formatMode(attr.Mode), UID: attr.UID, GID: attr.GID, Size: len(cur),
			SHA256: sum(cur), SHA256New: sum(c.after),
		}
		originals[i] = cur
	}
	return recs, originals, nil
}

// backup saves every original and a complete, fsynced manifest before the
// first config file is touched. On failure the partial backup is removed:
// nothing was changed, so there is nothing to restore.
func (t *txn) backup(recs []FileRecord, originals [][]byte) (err error) {
	created := t.now().UTC()
	id, err := newID(created)
	if err != nil {
		return err
	}
	dir := filepath.Join(t.opt.BackupDir, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// Mkdir is subject to the umask; the backup holds configs that may be
	// secret, so make it 0700 whatever the umask.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	files := filepath.Join(dir, "files")
	if err := os.Mkdir(files, 0o700); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for i := range recs {
		recs[i].Backup = fmt.Sprintf("files/%04d", i+1)
		if err := writeFileSync(filepath.Join(dir, filepath.FromSlash(recs[i].Backup)), originals[i], 0o600); err != nil {
			return fmt.Errorf("backup %s: %w", recs[i].Path, err)
		}
		if err := t.hook(fmt.Sprintf("%s:%d", StepBackup, i)); err != nil {
			return err
		}
	}
	if err := platform.SyncDir(files); err != nil {
		return fmt.Errorf("backup: fsync %s: %w", files, err)
	}
	m := &Manifest{SchemaVersion: ManifestSchemaVersion, ID: id, Created: created, Root: t.opt.Root, Files: recs}
	for _, s := range t.servers {
		m.Servers = append(m.Servers, ServerRecord{Kind: s.Kind, Main: s.Main, Binary: s.Binary, TestArgv: s.TestArgv})
	}
	m.setStatus(created, StatusPending, "")
	if err := saveManifest(dir, m); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := platform.SyncDir(t.opt.BackupDir); err != nil {
		return fmt.Errorf("backup: fsync %s: %w", t.opt.BackupDir, err)
	}
	if err := t.hook(StepManifest); err != nil {
		return err
	}
	t.dir, t.m = dir, m
	t.res.BackupID, t.res.BackupPath = id, dir
	t.printf("backup %s in %s", id, dir)
	return nil
}

func serverName(s remediate.Server) string {
	if s.Main != "" {
		return s.Kind + " " + s.Main
	}
	return s.Kind
}

// configTests runs every server's own config test. It returns the output
// of the first failing one.
func (t *txn) configTests(ctx context.Context, phase string) (string, error) {
	var first error
	var firstOut string
	for _, s := range t.servers {
		if len(s.TestArgv) == 0 {
			// Never skip silently: the admin must know the result was not
			// checked by the server itself (e.g. under --root, or no binary).
			t.res.ConfigTest = append(t.res.ConfigTest, TestResult{Server: serverName(s), Output: "not run: the server binary is unknown", OK: true, Phase: phase})
			t.printf("warning: no config test for %s: its binary is unknown (name it with --%s-bin)", serverName(s), binFlag(s.Kind))
			continue
		}
		out, err := t.deps.Runner.Run(ctx, s.TestArgv)
		text := strings.TrimSpace(string(out.Stdout) + string(out.Stderr))
		t.res.ConfigTest = append(t.res.ConfigTest, TestResult{Server: serverName(s), Argv: s.TestArgv, Output: text, OK: err == nil, Phase: phase})
		if err != nil {
			if first == nil {
				first, firstOut = fmt.Errorf("%s: %w", serverName(s), err), text
			}
			continue
		}
		t.printf("config test ok: %s", strings.Join(s.TestArgv, " "))
	}
	return firstOut, first
}

func (t *txn) action() platform.ServiceAction {
	if t.opt.Restart {
		return platform.ActionRestart
	}
	return platform.ActionReload
}

// reloadAll reloads each server, stopping at the first failure.
func (t *txn) reloadAll(ctx context.Context, phase string, servers []remediate.Server) error {
	var errs []error
	for _, s := range servers {
		if phase == "apply" {
			t.reloaded = append(t.reloaded, s)
		}
		r, err := t.deps.Services.Reload(ctx, platform.Service{Kind: s.Kind, Binary: s.Binary, Main: s.Main}, t.action())
		rr := ReloadResult{Server: serverName(s), Method: r.Method, Argv: r.Argv, Output: r.Output, OK: err == nil, Phase: phase}
		if err != nil {
			rr.Error = err.Error()
			t.res.Reload = append(t.res.Reload, rr)
			errs = append(errs, err)
			if phase == "apply" {
				return err
			}
			continue
		}
		t.res.Reload = append(t.res.Reload, rr)
		t.printf("%s %s: %s", t.action(), serverName(s), strings.Join(r.Argv, " "))
	}
	return errors.Join(errs...)
}

func (t *txn) rollback(ctx context.Context, stage string, cause error) error {
	return t.rollbackOut(ctx, stage, cause, "")
}

// rollbackOut restores every file from the backup, reloads again whatever
// was reloaded, and records the outcome in the manifest. It runs under
// WithoutCancel: an interrupt must not leave a half-restored tree.
func (t *txn) rollbackOut(ctx context.Context, stage string, cause error, output string) error {
	if ctx.Err() != nil && !errors.Is(cause, ctx.Err()) {
		// The step failed because SIGINT/SIGTERM cancelled it (a killed
		// config test, say): say so rather than blame the step.
		cause = fmt.Errorf("interrupted: %w", cause)
	}
	ctx = context.WithoutCancel(ctx)
	// The failing command's output travels in RolledBackError.Output; the
	// caller prints it once, after the restore lines.
	t.printf("%s failed: %v", stage, cause)
	t.printf("restoring every file from %s", t.dir)
	restored, err := restoreFiles(t.deps.FS, t.dir, t.m.Files)
	t.res.Restored = restored
	if err == nil && len(t.reloaded) > 0 {
		if _, terr := t.configTests(ctx, "restore"); terr != nil {
			t.printf("warning: config test of the restored files failed too: %v", terr)
		}
		err = t.reloadAll(ctx, "restore", t.reloaded)
	}
	if err != nil {
		t.m.setStatus(t.now(), StatusRollbackFailed, fmt.Sprintf("%s failed: %v; restore: %v", stage, cause, err))
		if merr := saveManifest(t.dir, t.m); merr != nil {
			err = errors.Join(err, merr)
		}
		return &RollbackFailedError{Stage: stage, Err: cause, RestoreErr: err, BackupID: t.m.ID, BackupPath: t.dir}
	}
	t.res.RolledBack = true
	t.m.setStatus(t.now(), StatusRolledBack, fmt.Sprintf("fix: %s failed: %v", stage, cause))
	if merr := saveManifest(t.dir, t.m); merr != nil {
		t.printf("warning: %v", merr)
	}
	return &RolledBackError{Stage: stage, Err: cause, BackupPath: t.dir, Output: output}
}

// restoreFiles puts back every file whose bytes differ from the backup,
// continuing past failures so that as much as possible is restored. It
// returns the host paths restored.
func restoreFiles(fsys platform.Writer, dir string, recs []FileRecord) ([]string, error) {
	var restored []string
	var errs []error
	for _, r := range recs {
		orig, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r.Backup)))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: read backup: %w", r.Path, err))
			continue
		}
		if sum(orig) != r.SHA256 {
			errs = append(errs, fmt.Errorf("%s: backup copy %s is damaged (sha256 mismatch)", r.Path, r.Backup))
			continue
		}
		attr, err := r.attr()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if cur, err := fsys.ReadFile(r.RealPath); err == nil && bytes.Equal(cur, orig) {
			if fi, err := fsys.Lstat(r.RealPath); err == nil && sameAttr(platform.AttrOf(fi), attr) {
				continue
			}
		}
		if err := fsys.WriteFileAtomic(r.RealPath, orig, attr); err != nil {
			errs = append(errs, fmt.Errorf("%s: restore: %w", r.Path, err))
			continue
		}
		restored = append(restored, r.Path)
	}
	return restored, errors.Join(errs...)
}

func sameAttr(a, b platform.FileAttr) bool {
	return a.Mode == b.Mode && (b.UID < 0 || a.UID == b.UID) && (b.GID < 0 || a.GID == b.GID)
}

// binFlag names the flag that tells tlsfloor where a server's binary is.
func binFlag(kind string) string {
	if kind == "apache" {
		return "apache"
	}
	return "nginx"
}
