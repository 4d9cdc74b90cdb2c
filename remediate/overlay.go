package remediate

import (
	"io/fs"
	"path"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// OverlayFS serves planned bytes for some files and everything else from
// Base, so a parser can read the configuration as it will be after the fix
// without anything being written.
type OverlayFS struct {
	Base platform.FS
	// Files maps host paths (the path as the audit named it and the
	// symlink-resolved path) to the bytes to serve.
	Files map[string][]byte
}

// NewOverlayFS returns an overlay serving each change's new bytes under both
// its Path and its RealPath.
func NewOverlayFS(base platform.FS, changes []FileChange) (*OverlayFS, error) {
	o := &OverlayFS{Base: base, Files: map[string][]byte{}}
	for i := range changes {
		after, err := changes[i].After()
		if err != nil {
			return nil, err
		}
		o.Files[changes[i].Path] = after
		if changes[i].RealPath != "" {
			o.Files[changes[i].RealPath] = after
		}
	}
	return o, nil
}

func (o *OverlayFS) lookup(name string) ([]byte, bool) {
	if b, ok := o.Files[name]; ok {
		return b, true
	}
	// Another name for a planned file (a second symlink to it).
	if real, err := o.Base.EvalSymlinks(name); err == nil {
		if b, ok := o.Files[real]; ok {
			return b, true
		}
	}
	return nil, false
}

// ReadFile implements platform.FS.
func (o *OverlayFS) ReadFile(name string) ([]byte, error) {
	if b, ok := o.lookup(name); ok {
		return append([]byte(nil), b...), nil
	}
	return o.Base.ReadFile(name)
}

// Stat implements platform.FS; a planned file reports its new size.
func (o *OverlayFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := o.Base.Stat(name)
	if err != nil {
		return nil, err
	}
	if b, ok := o.lookup(name); ok {
		return sizedInfo{fi, int64(len(b))}, nil
	}
	return fi, nil
}

// Lstat implements platform.FS.
func (o *OverlayFS) Lstat(name string) (fs.FileInfo, error) {
	fi, err := o.Base.Lstat(name)
	if err != nil || fi.Mode()&fs.ModeSymlink != 0 {
		return fi, err
	}
	if b, ok := o.Files[name]; ok {
		return sizedInfo{fi, int64(len(b))}, nil
	}
	return fi, nil
}

// ReadDir implements platform.FS.
func (o *OverlayFS) ReadDir(name string) ([]fs.DirEntry, error) { return o.Base.ReadDir(name) }

// Glob implements platform.FS.
func (o *OverlayFS) Glob(pattern string) ([]string, error) { return o.Base.Glob(pattern) }

// EvalSymlinks implements platform.FS.
func (o *OverlayFS) EvalSymlinks(name string) (string, error) { return o.Base.EvalSymlinks(name) }

type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (s sizedInfo) Size() int64 { return s.size }

// IsolatedFS serves one file's bytes under its names and an empty file for
// every other path (globs match nothing). Parsing a changed file through it
// gives the parser's reading of exactly that file, with includes resolving
// to nothing, at the cost of that file alone instead of the whole tree.
type IsolatedFS struct {
	Names []string // the file's host path(s)
	Data  []byte
}

// Isolated serves data, the changed bytes of c, as an IsolatedFS under the
// file's host path and, when it is a link, its real path.
func (c *FileChange) Isolated(data []byte) IsolatedFS {
	names := []string{c.Path}
	if c.RealPath != "" && c.RealPath != c.Path {
		names = append(names, c.RealPath)
	}
	return IsolatedFS{Names: names, Data: data}
}

func (o IsolatedFS) own(name string) bool {
	for _, n := range o.Names {
		if n == name {
			return true
		}
	}
	return false
}

// ReadFile implements platform.FS.
func (o IsolatedFS) ReadFile(name string) ([]byte, error) {
	if o.own(name) {
		return append([]byte(nil), o.Data...), nil
	}
	return []byte{}, nil
}

// Stat implements platform.FS: every path is a regular file.
func (o IsolatedFS) Stat(name string) (fs.FileInfo, error) {
	if o.own(name) {
		return isoInfo{name: name, size: int64(len(o.Data))}, nil
	}
	return isoInfo{name: name}, nil
}

// Lstat implements platform.FS.
func (o IsolatedFS) Lstat(name string) (fs.FileInfo, error) { return o.Stat(name) }

// ReadDir implements platform.FS: directories are empty.
func (o IsolatedFS) ReadDir(string) ([]fs.DirEntry, error) { return nil, nil }

// Glob implements platform.FS: nothing matches.
func (o IsolatedFS) Glob(string) ([]string, error) { return nil, nil }

// EvalSymlinks implements platform.FS: no links.
func (o IsolatedFS) EvalSymlinks(name string) (string, error) { return name, nil }

type isoInfo struct {
	name string
	size int64
}

func (i isoInfo) Name() string       { return path.Base(i.name) }
func (i isoInfo) Size() int64        { return i.size }
func (i isoInfo) Mode() fs.FileMode  { return 0o644 }
func (i isoInfo) ModTime() time.Time { return time.Time{} }
func (i isoInfo) IsDir() bool        { return false }
func (i isoInfo) Sys() any           { return nil }
