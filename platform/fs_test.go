package platform

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestOSFSRootedSymlinksStayInRoot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows; --root is a Unix feature")
	}
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "etc/nginx/sites-available"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "etc/nginx/sites-enabled"), 0o755))
	must(os.WriteFile(filepath.Join(root, "etc/nginx/sites-available/default"), []byte("server {}\n"), 0o644))
	// A relative link as Debian makes it, and an absolute one as a user might.
	must(os.Symlink("../sites-available/default", filepath.Join(root, "etc/nginx/sites-enabled/rel")))
	must(os.Symlink("/etc/nginx/sites-available/default", filepath.Join(root, "etc/nginx/sites-enabled/abs")))

	f := NewOSFS(root)
	for _, name := range []string{"/etc/nginx/sites-enabled/rel", "/etc/nginx/sites-enabled/abs"} {
		got, err := f.EvalSymlinks(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != "/etc/nginx/sites-available/default" {
			t.Errorf("EvalSymlinks(%s) = %s", name, got)
		}
		if _, err := f.Stat(name); err != nil {
			t.Errorf("Stat(%s): %v", name, err)
		}
	}
	matches, err := f.Glob("/etc/nginx/sites-enabled/*")
	must(err)
	if len(matches) != 2 || matches[0] != "/etc/nginx/sites-enabled/abs" {
		t.Errorf("Glob = %v", matches)
	}
	b, err := f.ReadFile("/etc/nginx/sites-enabled/rel")
	must(err)
	if string(b) != "server {}\n" {
		t.Errorf("ReadFile = %q", b)
	}
	_, err = f.ReadFile("/etc/missing.conf")
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "/etc/missing.conf" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file error = %v, want host path /etc/missing.conf", err)
	}
	must(os.Symlink("loop", filepath.Join(root, "etc/loop")))
	if _, err := f.EvalSymlinks("/etc/loop"); err == nil {
		t.Error("symlink loop not detected")
	}
}

func TestOSFSUnrootedUsesRealPaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.conf")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := NewOSFS("")
	if b, err := f.ReadFile(p); err != nil || string(b) != "x" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	if f.Host(p) != filepath.ToSlash(p) {
		t.Errorf("Host(%s) = %s", p, f.Host(p))
	}
}
