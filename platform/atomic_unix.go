//go:build unix

package platform

import (
	"io/fs"
	"os"
	"syscall"
)

func fileOwner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

func chownFile(f *os.File, uid, gid int) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	// Skip the call when nothing changes, so an unprivileged user can
	// rewrite files it owns.
	if cu, cg := fileOwner(fi); (uid < 0 || uid == cu) && (gid < 0 || gid == cg) {
		return nil
	}
	return f.Chown(uid, gid)
}

// SyncDir fsyncs a directory so that a rename or a new entry in it
// survives a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// accessWrite asks the kernel whether this process may create files in
// dir (access(2) with W_OK and X_OK).
func accessWrite(dir string) error {
	return syscall.Access(dir, 0x2|0x1) // W_OK | X_OK
}

// LinkCount is the number of hard links to fi's file (1 where unknown).
func LinkCount(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Nlink)
	}
	return 1
}
