package platform_test

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileAtomicReplacesKeepingModeAndOwner(t *testing.T) {
	root := platformtest.TempDir(t)
	dir := filepath.Join(root, "etc/nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := platform.NewOSWriter(root)
	var tempSeen []string
	w.Hook = func(step platform.AtomicStep, name string) error {
		if step == platform.StepRename {
			tempSeen = listDir(t, dir)
		}
		return nil
	}
	attr := platform.FileAttr{Mode: 0o640, UID: -1, GID: -1}
	if os.Geteuid() == 0 {
		attr.UID, attr.GID = 4242, 4343 // root can give the file away
	}
	if err := w.WriteFileAtomic("/etc/nginx/nginx.conf", []byte("new"), attr); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "new" {
		t.Fatalf("content %q", b)
	}
	fi, _ := os.Stat(p)
	got := platform.AttrOf(fi)
	if runtime.GOOS != "windows" && got.Mode != 0o640 { // Windows has only a read-only bit
		t.Errorf("mode %v, want 0640", got.Mode)
	}
	if os.Geteuid() == 0 && (got.UID != 4242 || got.GID != 4343) {
		t.Errorf("owner %d:%d, want 4242:4343", got.UID, got.GID)
	}
	if names := listDir(t, dir); len(names) != 1 {
		t.Errorf("directory holds %v after the write", names)
	}
	// The temporary file existed next to the target under a name that no
	// include glob picks up.
	if len(tempSeen) != 2 {
		t.Fatalf("before rename the directory held %v", tempSeen)
	}
	for _, n := range tempSeen {
		if n == "nginx.conf" {
			continue
		}
		if !regexp.MustCompile(`^\.tlsfloor-[0-9]+\.tmp$`).MatchString(n) {
			t.Errorf("temporary name %q", n)
		}
		for _, glob := range []string{"*.conf", "*.load", "*conf"} {
			if ok, _ := path.Match(glob, n); ok {
				t.Errorf("temporary name %q matches include glob %q", n, glob)
			}
		}
	}
}

// A fault at any step leaves the old or the new bytes and no temporary file.
func TestWriteFileAtomicFaultAtEachStep(t *testing.T) {
	steps := []platform.AtomicStep{platform.StepCreate, platform.StepWrite, platform.StepSync, platform.StepChown,
		platform.StepRename, platform.StepSyncDir, platform.StepDone}
	for i, step := range steps {
		t.Run(string(step), func(t *testing.T) {
			root := platformtest.TempDir(t)
			p := filepath.Join(root, "a.conf")
			os.WriteFile(p, []byte("old"), 0o644)
			w := platform.NewOSWriter(root)
			w.Hook = func(s platform.AtomicStep, _ string) error {
				if s == step {
					return syscall.ENOSPC
				}
				return nil
			}
			err := w.WriteFileAtomic("/a.conf", []byte("new"), platform.FileAttr{Mode: 0o644, UID: -1, GID: -1})
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("err = %v, want ENOSPC", err)
			}
			b, _ := os.ReadFile(p)
			renamed := i > 4 // syncdir and done come after the rename
			if want := map[bool]string{false: "old", true: "new"}[renamed]; string(b) != want {
				t.Errorf("content %q, want %q", b, want)
			}
			if names := listDir(t, root); len(names) != 1 {
				t.Errorf("left behind: %v", names)
			}
		})
	}
}
