//go:build unix

package platform_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestWriteFileAtomicRefusesSymlink(t *testing.T) {
	root := platformtest.TempDir(t)
	os.WriteFile(filepath.Join(root, "target.conf"), []byte("x"), 0o644)
	os.Symlink("target.conf", filepath.Join(root, "link.conf"))
	w := platform.NewOSWriter(root)
	if err := w.WriteFileAtomic("/link.conf", []byte("y"), platform.FileAttr{Mode: 0o644, UID: -1, GID: -1}); err == nil {
		t.Fatal("wrote over a symlink")
	}
	if fi, _ := os.Lstat(filepath.Join(root, "link.conf")); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("link replaced")
	}
}

func TestWriteFileAtomicReadOnlyDirectory(t *testing.T) {
	root := platformtest.TempDir(t)
	dir := filepath.Join(root, "ro")
	os.Mkdir(dir, 0o755)
	p := filepath.Join(dir, "a.conf")
	os.WriteFile(p, []byte("old"), 0o644)
	if os.Geteuid() == 0 {
		platformtest.Immutable(t, dir)
	} else {
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	w := platform.NewOSWriter(root)
	err := w.WriteFileAtomic("/ro/a.conf", []byte("new"), platform.FileAttr{Mode: 0o644, UID: -1, GID: -1})
	if err == nil {
		t.Fatal("write into a read-only directory succeeded")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("content %q", b)
	}
}
