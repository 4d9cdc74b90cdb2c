//go:build unix

package platform_test

import (
	"os"
	"os/exec"
	"testing"
)

// immutable makes path immutable with chattr +i, the only way to get a
// read-only file or directory that root cannot write. It skips when chattr
// or the file system cannot (fails under CI=true).
func immutable(t *testing.T, path string) {
	t.Helper()
	chattr, err := exec.LookPath("chattr")
	if err == nil {
		err = exec.Command(chattr, "+i", path).Run()
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chattr +i %s under CI=true: %v", path, err)
		}
		t.Skipf("cannot make %s immutable (chattr): %v", path, err)
	}
	t.Cleanup(func() { exec.Command(chattr, "-i", path).Run() })
}
