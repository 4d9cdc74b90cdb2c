package apache

import (
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// writeTree writes files (host path -> content) under a new temp root and
// returns an FS rooted there. A content starting with "->" makes a symlink.
func writeTree(t testing.TB, files map[string]string) (platform.FS, string) {
	t.Helper()
	root := platformtest.WriteTree(t, files)
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
