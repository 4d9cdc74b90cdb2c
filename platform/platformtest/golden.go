package platformtest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/rogpeppe/go-internal/txtar"
)

// Update is the -update flag of every test binary that imports this
// package: rewrite golden files and expected sections from what the code
// produces now, instead of comparing.
var Update = flag.Bool("update", false, "rewrite golden files and expected sections (testdata) instead of comparing")

// Txtars runs fn as a subtest, named after the file without .txtar, for
// each txtar archive that matches pattern; none matching fails the test.
func Txtars(t *testing.T, pattern string, fn func(t *testing.T, file string, ar *txtar.Archive)) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases match %s: %v", pattern, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, file, ar)
		})
	}
}

// GoldenSection compares got with section name of ar, read from file.
// Under -update it stores got there instead (appending the section when
// it is missing) and rewrites file.
func GoldenSection(tb testing.TB, file string, ar *txtar.Archive, name string, got []byte) {
	tb.Helper()
	idx := -1
	for i, f := range ar.Files {
		if f.Name == name {
			idx = i
			break
		}
	}
	if *Update {
		if idx < 0 {
			ar.Files = append(ar.Files, txtar.File{Name: name})
			idx = len(ar.Files) - 1
		}
		ar.Files[idx].Data = got
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	if idx < 0 {
		tb.Fatalf("%s has no %s section (run go test -update to record it); got:\n%s", file, name, got)
	}
	if want := ar.Files[idx].Data; !bytes.Equal(want, got) {
		tb.Errorf("%s differs from %s (go test -update to accept):\n%s", name, file, diff.Diff("want", want, "got", got))
	}
}
