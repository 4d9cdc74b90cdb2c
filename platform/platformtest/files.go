package platformtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteTree writes files (slash-separated path below the root -> content)
// under a new temporary root directory, which it returns. A content of
// "-> target" makes a symbolic link to target instead.
func WriteTree(tb testing.TB, files map[string]string) string {
	tb.Helper()
	root := tb.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok && target != "" {
			if err := os.Symlink(strings.TrimSpace(target), p); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

// ReadFile returns the content of name (slash-separated) below root,
// failing the test when it cannot be read.
func ReadFile(tb testing.TB, root, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TempDir is tb.TempDir without failing the test when the directory cannot
// be removed at the end: under Wine, Go's os.RemoveAll fails with "Invalid
// function" (Wine lacks the POSIX-semantics delete Go uses), which says
// nothing about the code under test.
func TempDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "tlsfloor-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
