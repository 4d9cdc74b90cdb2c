package platformtest

import (
	"os"
	"path/filepath"
)

// CorpusDir finds the shared real-world config corpus, which tests read from
// disk (its symlinks matter; go:embed and module zips drop them). It tries
// $TLSFLOOR_CORPUS, then shared/corpus beside the repository (where CI puts
// it), then /work/shared/corpus. It returns "" when none exists; callers
// skip, or fail under CI=true.
func CorpusDir() string {
	candidates := []string{os.Getenv("TLSFLOOR_CORPUS")}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				candidates = append(candidates, filepath.Join(filepath.Dir(dir), "shared", "corpus"))
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	candidates = append(candidates, "/work/shared/corpus")
	for _, d := range candidates {
		if d == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(d, "README.md")); err == nil && !fi.IsDir() {
			// Tests compare paths inside the corpus; a symlinked parent
			// (a shared/ that is a link) must not make them differ.
			if real, err := filepath.EvalSymlinks(d); err == nil {
				return real
			}
			return d
		}
	}
	return ""
}
