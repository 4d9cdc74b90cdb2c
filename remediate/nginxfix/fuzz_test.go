package nginxfix

import (
	"bytes"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/locate"
)

// oneFileFS serves one file at /nginx.conf (and nothing else), so the real
// parser can read bytes that exist only in memory.
type oneFileFS struct{ data []byte }

type fileInfo struct{ size int64 }

func (fi fileInfo) Name() string       { return "nginx.conf" }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return 0o644 }
func (fi fileInfo) ModTime() time.Time { return time.Time{} }
func (fi fileInfo) IsDir() bool        { return false }
func (fi fileInfo) Sys() any           { return nil }

func (m oneFileFS) ReadFile(name string) ([]byte, error) {
	if name != "/nginx.conf" {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), m.data...), nil
}
func (m oneFileFS) Stat(name string) (fs.FileInfo, error) {
	if name != "/nginx.conf" {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fileInfo{int64(len(m.data))}, nil
}
func (m oneFileFS) Lstat(name string) (fs.FileInfo, error)   { return m.Stat(name) }
func (m oneFileFS) ReadDir(string) ([]fs.DirEntry, error)    { return nil, fs.ErrNotExist }
func (m oneFileFS) Glob(string) ([]string, error)            { return nil, nil }
func (m oneFileFS) EvalSymlinks(name string) (string, error) { return name, nil }

// FuzzApplyEdits checks the edit model on arbitrary nginx files: no edits
// give identical bytes; rewriting the arguments of one directive and
// parsing again with the real parser changes that directive only (same
// directive list otherwise, names, arguments and block paths), or the
// edited file is refused by the locator before anything is planned.
func FuzzApplyEdits(f *testing.F) {
	f.Add([]byte("events {}\nhttp {\n    ssl_protocols TLSv1 TLSv1.1; # c\n    server { listen 443 ssl; }\n}\n"), uint8(2))
	f.Add([]byte("http {\r\n\tssl_protocols\r\n\t\t\"TLSv1\" # x\r\n\t\tTLSv1.2;\r\n\tinclude a;\r\n}\r\n"), uint8(1))
	f.Add([]byte("events{}http{server{listen 443 ssl;ssl_protocols SSLv3;return 200 \"{;}\";}}"), uint8(3))
	f.Fuzz(func(t *testing.T, src []byte, pick uint8) {
		if len(src) > 4096 {
			return
		}
		fc := remediate.NewFileChange("/nginx.conf", "/nginx.conf", src, 0o644)
		if out, err := fc.After(); err != nil || !bytes.Equal(out, src) {
			t.Fatalf("no edits: %v, identical %v", err, bytes.Equal(out, src))
		}
		before, err := nginx.ParseDirectives(oneFileFS{src}, "/nginx.conf")
		if err != nil {
			return
		}
		lf, err := locate.LexNginx(src)
		if err != nil {
			return // the locator refuses (crossplane ignores text after a stray top-level "}")
		}
		// Pick a simple directive with arguments that the parser reports.
		var cands []int
		for i, d := range before {
			if !d.IsBlock && len(d.Args) > 0 && d.Name != "if" && d.Name != "include" && !luaName(d.Name) {
				cands = append(cands, i)
			}
		}
		if len(cands) == 0 {
			return
		}
		i := cands[int(pick)%len(cands)]
		d := before[i]
		loc, err := lf.LocateOrdinal(d.Line, d.Ordinal, d.Name, d.Args)
		if err != nil {
			return // refused: never a wrong span
		}
		newArgs := []string{"TLSv1.2", "TLSv1.3"}
		fc.Edits = rewriteEdits(src, loc, newArgs)
		after, err := fc.After()
		if err != nil {
			t.Fatalf("edits do not apply: %v", err)
		}
		got, err := nginx.ParseDirectives(oneFileFS{after}, "/nginx.conf")
		if err != nil {
			// A parser that checks argument counts may reject two
			// arguments for this directive; the edit itself must not
			// have broken the structure: the locator still reads it.
			if _, lerr := locate.LexNginx(after); lerr != nil {
				t.Fatalf("the edit broke the file: %v\n%q", lerr, after)
			}
			return
		}
		if len(got) != len(before) {
			t.Fatalf("directive count %d -> %d\n%q", len(before), len(got), after)
		}
		for j := range before {
			want := before[j].Args
			if j == i && !slices.Equal(before[j].Args, newArgs) {
				want = newArgs
			}
			if got[j].Name != before[j].Name || !slices.Equal(got[j].Block, before[j].Block) {
				t.Fatalf("directive %d changed: %v -> %v\n%q", j, before[j], got[j], after)
			}
			if got[j].Name != "if" && !slices.Equal(got[j].Args, want) {
				t.Fatalf("directive %d args: %q -> %q (want %q)\n%q", j, before[j].Args, got[j].Args, want, after)
			}
		}
	})
}

func luaName(n string) bool {
	return len(n) > len("_by_lua_block") && n[len(n)-len("_by_lua_block"):] == "_by_lua_block"
}
