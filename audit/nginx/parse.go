package nginx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	crossplane "github.com/nginxinc/nginx-go-crossplane"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// node is one directive with includes already resolved: an include node's
// children are the top-level nodes of the files it includes. Nodes of a file
// included twice are shared; the walk supplies the context.
type node struct {
	name    string
	args    []string
	file    string
	line    int
	ordinal int
	isBlock bool
	// mapParam marks an entry of a map-like block (map, geo, types ...):
	// data, not a directive.
	mapParam bool
	children []*node
}

// tree is a parsed configuration: the main file with every include
// followed.
type tree struct {
	main  string
	files []string
	top   []*node
}

// loader parses files through an FS, each file once, and resolves includes
// itself so that every error carries path:line (crossplane reports an
// include cycle without a location and stops at the first unreadable
// include).
type loader struct {
	fsys   platform.FS
	main   string
	dir    string
	parsed map[string][]*node
	files  []string
	// stack is the chain of files being expanded, for cycle detection.
	stack []string
	// single stops include resolution (ParseBytes).
	single bool
}

// load parses main and everything it includes.
func load(fsys platform.FS, main string) (*tree, error) {
	main = cleanPath(main)
	l := &loader{fsys: fsys, main: main, dir: path.Dir(main), parsed: map[string][]*node{}}
	top, err := l.file(main, "", 0)
	if err != nil {
		return nil, err
	}
	return &tree{main: main, files: l.files, top: top}, nil
}

func cleanPath(p string) string {
	p = strings.ReplaceAll(p, "\\", "/")
	if p == "" {
		return p
	}
	return path.Clean(p)
}

// file returns the expanded top-level nodes of name. from/fromLine is the
// include directive that pulls it in (empty for the main file).
func (l *loader) file(name, from string, fromLine int) ([]*node, error) {
	for i, s := range l.stack {
		if s == name {
			chain := append(append([]string(nil), l.stack[i:]...), name)
			return nil, audit.Errorf(from, fromLine, "include cycle: %s", strings.Join(chain, " -> "))
		}
	}
	if nodes, ok := l.parsed[name]; ok {
		return nodes, nil
	}
	raw, err := l.parseFile(name, from, fromLine)
	if err != nil {
		return nil, err
	}
	l.files = append(l.files, name)
	l.stack = append(l.stack, name)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	nodes, err := l.convert(name, raw)
	if err != nil {
		return nil, err
	}
	l.parsed[name] = nodes
	return nodes, nil
}

// readErr turns a read failure into a ConfigError. The main file has no
// include site, so the error names the file itself.
func readErr(name, from string, fromLine int, err error) error {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	if from == "" {
		return &audit.ConfigError{Path: name, Msg: "cannot read nginx config: " + msg}
	}
	return audit.Errorf(from, fromLine, "cannot read included file %s: %s", name, msg)
}

// parseFile runs crossplane over one file. Includes are not followed here
// (SingleFile); Open and Glob both go through the FS so that nothing reads
// the real disk behind --root.
func (l *loader) parseFile(name, from string, fromLine int) (crossplane.Directives, error) {
	data, err := l.read(name)
	if err != nil {
		return nil, readErr(name, from, fromLine, err)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := 1 + bytes.Count(data[:i], []byte{'\n'})
		return nil, audit.Errorf(name, line, "binary data (NUL byte) in nginx config")
	}
	// nginx reads a UTF-8 byte order mark as part of the first directive
	// name and refuses the file; crossplane would accept it as an unknown
	// directive and hide, say, the whole http block.
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, audit.Errorf(name, 1, "UTF-8 byte order mark at the start of the file (nginx rejects it)")
	}
	lexed := blankLuaComments(data)
	opts := &crossplane.ParseOptions{
		SingleFile: true,
		Open: func(p string) (io.ReadCloser, error) {
			if cleanPath(p) == name {
				return io.NopCloser(bytes.NewReader(lexed)), nil
			}
			b, err := l.read(cleanPath(p))
			if err != nil {
				return nil, err
			}
			return io.NopCloser(bytes.NewReader(b)), nil
		},
		Glob: l.glob,
		// Third-party modules add directives and contexts crossplane does
		// not know; nginx itself checks them when it loads the module. The
		// protocol directives are checked by this package instead.
		SkipDirectiveContextCheck: true,
		LexOptions: crossplane.LexOptions{
			// *_by_lua_block bodies are Lua, not nginx syntax: lex each as
			// one argument so nothing inside can look like a directive.
			Lexers: []crossplane.RegisterLexer{(&crossplane.Lua{}).RegisterLexer()},
		},
	}
	payload, err := crossplane.Parse(name, opts)
	if err != nil {
		return nil, convertErr(name, err)
	}
	for _, pe := range payload.Errors {
		file := pe.File
		if file == "" {
			file = name
		}
		line := 0
		if pe.Line != nil {
			line = *pe.Line
		}
		return nil, &audit.ConfigError{Path: file, Line: line, Msg: stripLocation(pe.Error, file, pe.Line)}
	}
	if len(payload.Config) != 1 {
		return nil, &audit.ConfigError{Path: name, Msg: "nginx config parser returned no result"}
	}
	return payload.Config[0].Parsed, nil
}

// read reads through the FS after resolving symlinks inside the FS, so an
// absolute link target (Debian's sites-enabled) stays under --root.
func (l *loader) read(name string) ([]byte, error) {
	if real, err := l.fsys.EvalSymlinks(name); err == nil && real != "" {
		fi, err := l.fsys.Stat(real)
		if err == nil && fi.IsDir() {
			return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
		}
		return l.fsys.ReadFile(real)
	}
	return l.fsys.ReadFile(name)
}

// stripLocation drops crossplane's trailing " in file:line" (or " in
// file") so the message can be printed as path:line: message. Only the
// exact suffix is removed: messages such as `... is not enclosed in
// parentheses` end in " in <word>" too.
func stripLocation(err error, file string, line *int) string {
	if err == nil {
		return "parse error"
	}
	msg := err.Error()
	var pe *crossplane.ParseError
	if errors.As(err, &pe) {
		msg = pe.What
	}
	if line != nil {
		msg = strings.TrimSuffix(msg, fmt.Sprintf(" in %s:%d", file, *line))
	}
	return strings.TrimSuffix(msg, " in "+file)
}

func convertErr(name string, err error) error {
	var pe *crossplane.ParseError
	if errors.As(err, &pe) {
		file := name
		if pe.File != nil && *pe.File != "" {
			file = *pe.File
		}
		line := 0
		if pe.Line != nil {
			line = *pe.Line
		}
		return &audit.ConfigError{Path: file, Line: line, Msg: stripLocation(pe, file, pe.Line)}
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return readErr(name, "", 0, err)
	}
	return &audit.ConfigError{Path: name, Msg: stripLocation(err, name, nil)}
}

// glob matches an include pattern like glob(3) does for nginx: sorted, and
// a wildcard never matches a leading dot (path.Match would).
func (l *loader) glob(pattern string) ([]string, error) {
	matches, err := l.fsys.Glob(pattern)
	if err != nil {
		return nil, err
	}
	pparts := strings.Split(pattern, "/")
	out := matches[:0]
	for _, m := range matches {
		if !hiddenMatch(pparts, strings.Split(m, "/")) {
			out = append(out, m)
		}
	}
	return out, nil
}

func hiddenMatch(pattern, name []string) bool {
	if len(pattern) != len(name) {
		return false
	}
	for i, p := range pattern {
		if strings.HasPrefix(name[i], ".") && !strings.HasPrefix(p, ".") && strings.ContainsAny(p, "*?[") {
			return true
		}
	}
	return false
}

// lineCounter numbers the directives that start on the same line of one
// file (0, 1, ...), across nesting, so the fixer can pick the k-th one.
type lineCounter struct{ line, ord int }

func (c *lineCounter) next(line int) int {
	if line == c.line {
		c.ord++
	} else {
		c.line, c.ord = line, 0
	}
	return c.ord
}

// convert turns crossplane directives into nodes, resolving includes.
func (l *loader) convert(file string, ds crossplane.Directives) ([]*node, error) {
	return l.convertBlock(file, ds, &lineCounter{})
}

func (l *loader) convertBlock(file string, ds crossplane.Directives, lc *lineCounter) ([]*node, error) {
	out := make([]*node, 0, len(ds))
	for _, d := range ds {
		if d.Directive == "#" {
			continue
		}
		n := &node{name: d.Directive, args: d.Args, file: file, line: d.Line, ordinal: lc.next(d.Line),
			isBlock: d.IsBlock(), mapParam: d.IsMapBlockParameter}
		out = append(out, n)
		if n.isBlock {
			kids, err := l.convertBlock(file, d.Block, lc)
			if err != nil {
				return nil, err
			}
			n.children = kids
			continue
		}
		if d.Directive != "include" || d.IsMapBlockParameter {
			continue
		}
		if len(d.Args) != 1 {
			return nil, audit.Errorf(file, d.Line, `invalid number of arguments in "include" directive`)
		}
		if l.single {
			continue
		}
		kids, err := l.include(file, d.Line, d.Args[0])
		if err != nil {
			return nil, err
		}
		n.children = kids
	}
	return out, nil
}

// include resolves one include directive as nginx does: relative to the
// main config's directory, globs sorted and allowed to match nothing, a
// plain file required to exist.
func (l *loader) include(file string, line int, arg string) ([]*node, error) {
	pattern := arg
	if !path.IsAbs(pattern) {
		pattern = path.Join(l.dir, pattern)
	}
	pattern = cleanPath(pattern)
	var names []string
	if strings.ContainsAny(pattern, "*?[") {
		m, err := l.glob(pattern)
		if err != nil {
			return nil, audit.Errorf(file, line, "include %q: %v", arg, err)
		}
		names = m
	} else {
		names = []string{pattern}
	}
	var out []*node
	for _, name := range names {
		nodes, err := l.file(name, file, line)
		if err != nil {
			return nil, err
		}
		out = append(out, nodes...)
	}
	return out, nil
}

// ParseDirectives parses main and every file it includes through fsys and
// returns each file's directives once, files in include order (main
// first), directives in file order, with File, Line, Ordinal, Name, Args
// and block path. The fixer uses it to re-parse edited bytes and check that
// nothing but the intended directives changed. Errors are
// *audit.ConfigError (path:line: message).
func ParseDirectives(fsys platform.FS, main string) ([]Directive, error) {
	t, err := load(fsys, main)
	if err != nil {
		return nil, err
	}
	byFile := map[string][]Directive{}
	seen := map[*node]bool{}
	var walk func(nodes []*node, block []string)
	walk = func(nodes []*node, block []string) {
		for _, n := range nodes {
			if seen[n] {
				continue
			}
			seen[n] = true
			byFile[n.file] = append(byFile[n.file], Directive{
				Name: n.name, Args: n.args, File: n.file, Line: n.line, Ordinal: n.ordinal,
				Block: append([]string(nil), block...), IsBlock: n.isBlock,
			})
			if n.isBlock {
				walk(n.children, append(block, n.name))
			} else if n.name == "include" {
				walk(n.children, block)
			}
		}
	}
	walk(t.top, nil)
	var out []Directive
	for _, f := range t.files {
		out = append(out, byFile[f]...)
	}
	return out, nil
}

// ParseBytes parses one file's content without following includes (they
// are listed as "include" directives) and returns its directives in file
// order with block paths relative to the file. The fixer uses it to check
// edited bytes before writing them. Errors are *audit.ConfigError naming
// name.
func ParseBytes(name string, data []byte) ([]Directive, error) {
	name = cleanPath(name)
	l := &loader{fsys: bytesFS{name: name, data: data}, main: name, dir: path.Dir(name), parsed: map[string][]*node{}, single: true}
	top, err := l.file(name, "", 0)
	if err != nil {
		return nil, err
	}
	var out []Directive
	var walk func(nodes []*node, block []string)
	walk = func(nodes []*node, block []string) {
		for _, n := range nodes {
			out = append(out, Directive{
				Name: n.name, Args: n.args, File: n.file, Line: n.line, Ordinal: n.ordinal,
				Block: append([]string(nil), block...), IsBlock: n.isBlock,
			})
			if n.isBlock {
				walk(n.children, append(block, n.name))
			}
		}
	}
	walk(top, nil)
	return out, nil
}

// bytesFS serves one file from memory (ParseBytes).
type bytesFS struct {
	name string
	data []byte
}

func (b bytesFS) ReadFile(name string) ([]byte, error) {
	if name == b.name {
		return b.data, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

func (b bytesFS) Stat(name string) (fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "stat", Path: name, Err: errors.ErrUnsupported}
}

func (b bytesFS) Lstat(name string) (fs.FileInfo, error) { return b.Stat(name) }

func (b bytesFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.ErrUnsupported}
}

func (b bytesFS) Glob(string) ([]string, error) { return nil, nil }

func (b bytesFS) EvalSymlinks(name string) (string, error) { return name, nil }

// String renders a directive for messages: name and args.
func (d Directive) String() string {
	if len(d.Args) == 0 {
		return d.Name
	}
	return fmt.Sprintf("%s %s", d.Name, strings.Join(d.Args, " "))
}
