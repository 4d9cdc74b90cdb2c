//go:build unix

package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCheckWritable: a writable directory passes; a directory the process
// may not write, or a read-only file system, is an error naming the host
// directory, and nothing is written.
func TestCheckWritable(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "etc", "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte("events {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewOSWriter(root)
	if err := w.CheckWritable("/etc/nginx/nginx.conf"); err != nil {
		t.Fatalf("writable directory: %v", err)
	}
	if err := w.CheckWritable("/etc/nginx/missing.conf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want not-exist", err)
	}

	var asked string
	w.access = func(d string) error { asked = d; return syscall.EROFS }
	err := w.CheckWritable("/etc/nginx/nginx.conf")
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "/etc/nginx" || !errors.Is(err, syscall.EROFS) || asked != dir {
		t.Errorf("read-only: err %v (asked %s), want a PathError for /etc/nginx wrapping EROFS", err, asked)
	}

	if os.Geteuid() == 0 {
		t.Log("root may write any directory: the permission case runs as a non-root user only")
		return
	}
	w.access = nil
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	if err := w.CheckWritable("/etc/nginx/nginx.conf"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("read-only directory: %v, want permission denied", err)
	}
}

// TestCheckWritableRootedSymlink: in a --root tree, an absolute link
// (sites-enabled/x -> /etc/nginx/sites-available/x) points inside the
// tree, not at the machine's own /etc.
func TestCheckWritableRootedSymlink(t *testing.T) {
	root := t.TempDir()
	avail := filepath.Join(root, "etc/nginx/sites-available")
	enabled := filepath.Join(root, "etc/nginx/sites-enabled")
	for _, d := range []string{avail, enabled} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(avail, "tlsfloor-test-site"), []byte("server {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/nginx/sites-available/tlsfloor-test-site", filepath.Join(enabled, "tlsfloor-test-site")); err != nil {
		t.Fatal(err)
	}
	w := NewOSWriter(root)
	var asked string
	w.access = func(d string) error { asked = d; return nil }
	if err := w.CheckWritable("/etc/nginx/sites-enabled/tlsfloor-test-site"); err != nil {
		t.Fatalf("rooted absolute link: %v", err)
	}
	if asked != avail {
		t.Errorf("checked %s, want the link target's directory in the tree, %s", asked, avail)
	}
}
