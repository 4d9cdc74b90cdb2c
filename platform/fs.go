package platform

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// FS reads the host's files. Every name is a path as the host sees it
// (absolute, slash-separated); an implementation may map it under a root
// directory, for --root, images and tests.
type FS interface {
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	// Glob matches a shell pattern (path.Match syntax) and returns host
	// paths in lexical order.
	Glob(pattern string) ([]string, error)
	// EvalSymlinks resolves every symbolic link in name, staying inside the
	// root: an absolute link target is read relative to the root.
	EvalSymlinks(name string) (string, error)
}

// OSFS is the real file system seen from Root ("" or "/" is the real root).
type OSFS struct {
	Root string
}

// NewOSFS returns an OSFS for root; an empty root means "/".
func NewOSFS(root string) OSFS {
	if root == "" {
		root = "/"
	}
	return OSFS{Root: filepath.Clean(root)}
}

func (f OSFS) rooted() bool { return f.Root != "" && f.Root != "/" }

// Real maps a host path to the path on this machine's disk.
func (f OSFS) Real(name string) string {
	if !f.rooted() {
		// Unrooted paths are the machine's own; on Windows they carry a
		// volume ("C:\...") that must not be turned into "/C:/...".
		return filepath.Clean(filepath.FromSlash(name))
	}
	return filepath.Join(f.Root, filepath.FromSlash(cleanHost(name)))
}

// Host maps a path on this machine's disk back to the host path.
func (f OSFS) Host(real string) string {
	if !f.rooted() {
		return filepath.ToSlash(real)
	}
	rel, err := filepath.Rel(f.Root, real)
	if err != nil || strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(real)
	}
	return "/" + filepath.ToSlash(rel)
}

func cleanHost(name string) string {
	name = filepath.ToSlash(name)
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return path.Clean(name)
}

// ReadFile implements FS.
func (f OSFS) ReadFile(name string) ([]byte, error) {
	b, err := os.ReadFile(f.Real(name))
	return b, f.hostErr(err, name)
}

// Stat implements FS.
func (f OSFS) Stat(name string) (fs.FileInfo, error) {
	if f.rooted() {
		real, err := f.EvalSymlinks(name)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(f.Real(real))
		return fi, f.hostErr(err, name)
	}
	fi, err := os.Stat(f.Real(name))
	return fi, f.hostErr(err, name)
}

// Lstat implements FS.
func (f OSFS) Lstat(name string) (fs.FileInfo, error) {
	fi, err := os.Lstat(f.Real(name))
	return fi, f.hostErr(err, name)
}

// ReadDir implements FS; entries come sorted by name.
func (f OSFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if f.rooted() {
		if real, err := f.EvalSymlinks(name); err == nil {
			name = real
		}
	}
	es, err := os.ReadDir(f.Real(name))
	return es, f.hostErr(err, name)
}

// Glob implements FS.
func (f OSFS) Glob(pattern string) ([]string, error) {
	matches, err := filepath.Glob(f.Real(pattern))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, f.Host(m))
	}
	sort.Strings(out)
	return out, nil
}

// EvalSymlinks implements FS.
func (f OSFS) EvalSymlinks(name string) (string, error) {
	if !f.rooted() {
		p, err := filepath.EvalSymlinks(f.Real(name))
		return filepath.ToSlash(p), err
	}
	// Resolve component by component so that absolute targets stay in the root.
	todo := strings.Split(strings.TrimPrefix(cleanHost(name), "/"), "/")
	done := "/"
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, c)
		fi, err := os.Lstat(f.Real(next))
		if err != nil {
			return "", f.hostErr(err, name)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if hops++; hops > 40 {
			return "", &fs.PathError{Op: "evalsymlinks", Path: name, Err: errors.New("too many levels of symbolic links")}
		}
		target, err := os.Readlink(f.Real(next))
		if err != nil {
			return "", f.hostErr(err, name)
		}
		target = filepath.ToSlash(target)
		if strings.HasPrefix(target, "/") {
			done = "/"
		}
		todo = append(strings.Split(strings.TrimPrefix(target, "/"), "/"), todo...)
	}
	return done, nil
}

// hostErr rewrites the path in an error to the host path, so messages name
// the file as the user knows it.
func (f OSFS) hostErr(err error, name string) error {
	var pe *fs.PathError
	if err != nil && errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: cleanHost(name), Err: pe.Err}
	}
	return err
}
