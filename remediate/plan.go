// Package remediate turns audit findings into a Plan of minimal byte edits
// (and, on Windows, registry changes), renders the plan as a diff, and
// applies it as one transaction with backups and rollback. It imports audit
// and platform, never cmd.
package remediate

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"sort"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// Edit replaces the bytes Before[Start:End] of a file with New. An insertion
// has Start == End.
type Edit struct {
	Start, End int
	New        string
	// Line is the 1-based line of Start in the original, for messages.
	Line int
	// Reason says why, e.g. "ssl_protocols TLSv1 TLSv1.1 TLSv1.2 -> TLSv1.2 TLSv1.3".
	Reason string
}

// FileChange is every edit to one file, planned against exactly the bytes in
// Before. Path is the host path as the audit reported it; RealPath is the
// symlink-resolved host path that will actually be written.
type FileChange struct {
	Path      string
	RealPath  string
	Before    []byte
	BeforeSum [32]byte
	Mode      fs.FileMode
	Edits     []Edit
}

// Server is a server whose config a plan touches: its config test and reload.
type Server struct {
	Kind string // "nginx" or "apache"
	// Main is the main config file (host path); Binary the program used for
	// the config test (nginx, apachectl, apache2ctl or httpd).
	Main   string
	Binary string
	// TestArgv runs the server's own config test, e.g. nginx -t -c MAIN.
	TestArgv []string
	// Listeners are the addresses (host:port) whose TLS the change covers,
	// for --verify.
	Listeners []string
}

// Plan is the whole change. Nothing is written while planning.
type Plan struct {
	Files   []FileChange
	Servers []Server
	// Notes explain choices the reader should know about, e.g. an
	// already-compliant directive changed so that all servers on one address
	// agree.
	Notes []string
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	for _, f := range p.Files {
		if len(f.Edits) > 0 {
			return false
		}
	}
	return true
}

// NewFileChange records the bytes a file is planned from.
func NewFileChange(path, realPath string, before []byte, mode fs.FileMode) FileChange {
	return FileChange{Path: path, RealPath: realPath, Before: before, BeforeSum: sha256.Sum256(before), Mode: mode}
}

// ReadFileChange reads a file to plan edits against: path is the host path
// the audit reported, real its symlink-resolved target (the file that will
// be written). Errors are config errors: a file we cannot read is never
// edited.
func ReadFileChange(fsys platform.FS, path, real string) (FileChange, error) {
	src, err := fsys.ReadFile(real)
	if err != nil {
		return FileChange{}, &audit.ConfigError{Path: path, Msg: "cannot read for fixing", Err: err}
	}
	fi, err := fsys.Stat(real)
	if err != nil {
		return FileChange{}, &audit.ConfigError{Path: path, Msg: "cannot stat for fixing", Err: err}
	}
	return NewFileChange(path, real, src, fi.Mode()), nil
}

// RealPath resolves the symlinks in path; a path that cannot be resolved is
// its own real path (reading it then reports the error).
func RealPath(fsys platform.FS, path string) string {
	real, err := fsys.EvalSymlinks(path)
	if err != nil || real == "" {
		return path
	}
	return real
}

// After applies the edits to Before. Edits are sorted stably by offset;
// overlapping or out-of-range edits are an error and nothing is produced.
func (c *FileChange) After() ([]byte, error) {
	edits := append([]Edit(nil), c.Edits...)
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].Start < edits[j].Start })
	var out bytes.Buffer
	last := 0
	for _, e := range edits {
		if e.Start < 0 || e.End < e.Start || e.End > len(c.Before) {
			return nil, fmt.Errorf("%s: edit [%d,%d) out of range (size %d)", c.Path, e.Start, e.End, len(c.Before))
		}
		if e.Start < last {
			return nil, fmt.Errorf("%s:%d: overlapping edits", c.Path, e.Line)
		}
		out.Write(c.Before[last:e.Start])
		out.WriteString(e.New)
		last = e.End
	}
	out.Write(c.Before[last:])
	return out.Bytes(), nil
}
