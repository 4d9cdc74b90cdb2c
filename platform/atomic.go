package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Writer is the file system a fix writes to: everything FS reads, plus an
// atomic replace. Names are host paths, mapped under the root like FS.
type Writer interface {
	FS
	// WriteFileAtomic replaces the regular file name with data so that a
	// reader (or a crash) sees either the old bytes or the new bytes, never
	// a mix. The result gets attr's mode and owner and, on Linux, the
	// extended attributes of the file it replaces (SELinux label, POSIX
	// ACLs). name must not be a symbolic link: callers resolve links first
	// and write the target.
	WriteFileAtomic(name string, data []byte, attr FileAttr) error
}

// FileAttr is the mode and owner a written file gets. A UID or GID of -1
// leaves that id as the creating process makes it.
type FileAttr struct {
	Mode fs.FileMode
	UID  int
	GID  int
}

// AttrOf returns the permission bits and owner of fi (owner -1 where the
// platform has no numeric owners). Config files carry no set-id bits, and
// keeping to the nine permission bits keeps manifests portable.
func AttrOf(fi fs.FileInfo) FileAttr {
	uid, gid := fileOwner(fi)
	return FileAttr{Mode: fi.Mode().Perm(), UID: uid, GID: gid}
}

// AtomicStep names a point inside WriteFileAtomic, for OSWriter.Hook.
type AtomicStep string

// The steps of WriteFileAtomic, in order.
const (
	StepCreate  AtomicStep = "create"  // before the temporary file is created
	StepWrite   AtomicStep = "write"   // before the data is written
	StepSync    AtomicStep = "sync"    // before the temporary file is fsynced
	StepChown   AtomicStep = "chown"   // before owner and mode are set
	StepRename  AtomicStep = "rename"  // before the rename over the target
	StepSyncDir AtomicStep = "syncdir" // after the rename, before the directory fsync
	StepDone    AtomicStep = "done"    // after the directory fsync
)

// TempPattern is the name of temporary files next to a config file. The
// leading dot keeps nginx `include *.conf`, Apache `IncludeOptional dir/*`
// and shell globs from matching it, and the .tmp suffix matches no
// `*.conf` / `*.load` pattern either.
const TempPattern = ".tlsfloor-*.tmp"

// OSWriter writes the real disk, seen from Root like OSFS.
type OSWriter struct {
	OSFS
	// Hook, when set, is called at every step of WriteFileAtomic with the
	// host path; an error it returns fails the write at that point as if
	// the system call had failed (fault-injection and crash tests).
	Hook func(step AtomicStep, name string) error
	// access replaces accessWrite in tests (a root test process may write
	// anywhere).
	access func(dir string) error
}

// NewOSWriter returns an OSWriter for root; an empty root means "/".
func NewOSWriter(root string) *OSWriter { return &OSWriter{OSFS: NewOSFS(root)} }

func (w *OSWriter) hook(step AtomicStep, name string) error {
	if w.Hook == nil {
		return nil
	}
	if err := w.Hook(step, name); err != nil {
		return fmt.Errorf("%s %s: %w", step, name, err)
	}
	return nil
}

// WriteFileAtomic implements Writer: temporary file in the same directory,
// write, fsync, owner, mode and extended attributes, rename, fsync the
// directory. On failure
// before the rename the temporary file is removed and the target is
// untouched.
func (w *OSWriter) WriteFileAtomic(name string, data []byte, attr FileAttr) (err error) {
	real := w.Real(name)
	if fi, lerr := os.Lstat(real); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return &fs.PathError{Op: "write", Path: name, Err: errors.New("is a symbolic link; write its target")}
	}
	dir := filepath.Dir(real)
	if err := w.hook(StepCreate, name); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, TempPattern)
	if err != nil {
		return w.hostErr(err, name)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := w.hook(StepWrite, name); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := w.hook(StepSync, name); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", name, err)
	}
	if err := w.hook(StepChown, name); err != nil {
		return err
	}
	// Owner first: chown clears set-id bits, so the mode comes after it.
	if attr.UID >= 0 || attr.GID >= 0 {
		if err := chownFile(f, attr.UID, attr.GID); err != nil {
			return fmt.Errorf("chown %s: %w", name, err)
		}
	}
	if err := f.Chmod(attr.Mode); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	// After the mode: a POSIX ACL copied from the old file then wins over
	// the mask that chmod set, as it did on the old file.
	if err := copyXattrs(real, f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", name, err)
	}
	if err := w.hook(StepRename, name); err != nil {
		return err
	}
	if err := os.Rename(tmp, real); err != nil {
		return w.hostErr(err, name)
	}
	renamed = true
	if err := w.hook(StepSyncDir, name); err != nil {
		return err
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("fsync directory of %s: %w", name, err)
	}
	return w.hook(StepDone, name)
}

// CheckWritable reports whether WriteFileAtomic may replace name: the
// process can create files in its directory (write and search permission,
// not a read-only file system). It writes nothing, so a fix can refuse
// before it makes a backup. The rename can still fail (an immutable file);
// the transaction then restores.
func (w *OSWriter) CheckWritable(name string) error {
	// The link is followed inside the root (an absolute target in a --root
	// tree names a file of the tree), as WriteFileAtomic's callers do.
	target, err := w.EvalSymlinks(name)
	if err != nil {
		return err
	}
	access := w.access
	if access == nil {
		access = accessWrite
	}
	if err := access(filepath.Dir(w.Real(target))); err != nil {
		return &fs.PathError{Op: "write", Path: path.Dir(cleanHost(target)), Err: err}
	}
	return nil
}

// Remove deletes a file (host path). Rollback uses it to clear temporary
// files a killed fix left behind.
func (w *OSWriter) Remove(name string) error {
	return w.hostErr(os.Remove(w.Real(name)), name)
}
