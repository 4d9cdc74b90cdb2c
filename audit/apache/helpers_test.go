package apache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
	"github.com/tlsfloor/tlsfloor/platform"
)

// writeTree writes files (host path -> content) under a new temp root and
// returns an FS rooted there. A content starting with "->" makes a symlink.
func writeTree(t testing.TB, files map[string]string) (platform.FS, string) {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		full := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if len(content) > 2 && content[:2] == "->" {
			if err := os.Symlink(strings.TrimSpace(content[2:]), full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return platform.NewOSFS(root), root
}

func mustLib(t testing.TB, s string) openssl.Version {
	t.Helper()
	v, err := openssl.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sv(s string) audit.ServerVersion {
	if s == "" {
		return audit.ServerVersion{}
	}
	return audit.MustServerVersion(s)
}
