package apache

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
	"github.com/tlsfloor/tlsfloor/platform"
)

// needTool returns the path of a real tool, skipping the test when it is
// missing, except under CI=true where a missing tool is a failure.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true but not found: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

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
