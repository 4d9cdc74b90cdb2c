//go:build unix

package platform_test

import (
	"os"
	"os/exec"
	"testing"
)

// immutable makes path immutable with chattr +i, the only way to get a
// read-only file or directory that root cannot write. It skips when chattr
// or the file system cannot (a missing chattr fails under CI=true).
func immutable(t *testing.T, path string) {
	t.Helper()
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chattr is required under CI=true: %v", err)
		}
		t.Skipf("chattr not installed: %v", err)
	}
	if out, err := exec.Command(chattr, "+i", path).CombinedOutput(); err != nil {
		// The file system (tmpfs, overlayfs) lacks the flag: an
		// environment limit, not a missing tool, so skip even under CI.
		t.Skipf("file system cannot make %s immutable: %v %s", path, err, out)
	}
	t.Cleanup(func() { exec.Command(chattr, "-i", path).Run() })
}
