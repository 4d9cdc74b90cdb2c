package platformtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CI reports whether the tests run under CI=true, where every tool and
// file a test needs must be present: a missing one is a failure, not a
// skip.
func CI() bool { return os.Getenv("CI") == "true" }

// Require does nothing when ok. Otherwise it skips the test with msg, or,
// under CI=true, where a missing prerequisite means a broken test
// environment, fails it.
func Require(tb testing.TB, ok bool, msg string) {
	tb.Helper()
	if ok {
		return
	}
	if CI() {
		tb.Fatalf("CI=true: %s", msg)
	}
	tb.Skip(msg + " (set CI=true to make this a failure)")
}

// sbinDirs are searched after $PATH: a non-root PATH often lacks them,
// and nginx, apache2 and postfix live there.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// RequireTool returns the path of a real tool the test needs: name is
// looked up on $PATH, then in the sbin directories; a name with a slash is
// a file that must exist. When it is missing, RequireTool skips the test,
// or fails it under CI=true (see Require).
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	if strings.ContainsRune(name, '/') {
		_, err := os.Stat(name)
		Require(tb, err == nil, name+" is not present")
		return name
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	Require(tb, false, name+" is not installed")
	return ""
}

// RequireCorpus returns the shared real-world config corpus (see
// CorpusDir), skipping the test when there is none, or failing it under
// CI=true.
func RequireCorpus(tb testing.TB) string {
	tb.Helper()
	d := CorpusDir()
	Require(tb, d != "", "config corpus not found (set TLSFLOOR_CORPUS)")
	return d
}

// Immutable makes path immutable with chattr +i, the only way to get a
// read-only file or directory that root cannot write, and undoes it when
// the test ends. It skips when the file system lacks the flag (tmpfs,
// overlayfs: an environment limit, so even under CI); a missing chattr
// skips, or fails under CI=true.
func Immutable(tb testing.TB, path string) {
	tb.Helper()
	chattr := RequireTool(tb, "chattr")
	if out, err := exec.Command(chattr, "+i", path).CombinedOutput(); err != nil {
		tb.Skipf("file system cannot make %s immutable: %v %s", path, err, out)
	}
	tb.Cleanup(func() { _ = exec.Command(chattr, "-i", path).Run() })
}
