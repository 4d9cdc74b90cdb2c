package apache

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// ParseOptions are what httpd knows before it reads the first line.
type ParseOptions struct {
	// ServerRoot resolves relative paths until a ServerRoot directive
	// changes it. Empty: DefaultServerRoot(main).
	ServerRoot string
	// Defines are names defined on the command line (-D NAME), as if by
	// Define; a non-empty value also serves ${NAME}.
	Defines map[string]string
	// Env is the environment httpd starts with (Debian: the exports of
	// /etc/apache2/envvars); ${VAR} falls back to it after Define.
	Env map[string]string
	// Version evaluates <IfVersion>; zero means unknown (the section is
	// taken as true and a note says so).
	Version audit.ServerVersion
	// StaticModules are the modules compiled into httpd, as source file
	// names ("core.c"); nil means DefaultStaticModules.
	StaticModules []string
}

// DefaultStaticModules are the modules compiled into Debian's and
// upstream's default httpd build (`apache2 -l`); <IfModule> treats them as
// present.
var defaultStaticModules = []string{"core.c", "mod_so.c", "mod_watchdog.c", "http_core.c",
	"mod_log_config.c", "mod_logio.c", "mod_version.c", "mod_unixd.c"}

// DefaultStaticModules returns the built-in module list used when
// ParseOptions.StaticModules is nil.
func DefaultStaticModules() []string { return append([]string(nil), defaultStaticModules...) }

// Config is a parsed configuration.
type Config struct {
	// Main is the main config file; ServerRoot the root in effect at the
	// end of parsing.
	Main       string
	ServerRoot string
	// Files are the files read, main first, in include order, each once.
	Files []string
	// Directives are every directive read (section tags are in Sections,
	// not here), in config order, active or not.
	Directives []Directive
	// Sections are every section opened, in config order.
	Sections []Section
	// Defines are the defined names at the end (value "" for a bare Define).
	Defines map[string]string
	// Modules maps each loaded module identifier (ssl_module) to its file
	// as written in LoadModule.
	Modules map[string]string
	// Notes are assumptions made while parsing (unknown version in
	// <IfVersion>, undefined ${VAR}, macros not expanded).
	Notes []string

	lines map[string]int // physical line count per file
}

// maxIncludeDepth is httpd's AP_MAX_INCLUDE_DEPTH.
const maxIncludeDepth = 128

type parser struct {
	fsys       platform.FS
	opt        ParseOptions
	cfg        *Config
	vars       map[string]string // Define NAME value
	defined    map[string]bool   // Define NAME (with or without value)
	modules    map[string]bool   // loaded or built-in module identifiers
	serverRoot string
	stack      []string // include stack of real paths
	stackNames []string // the same, as host paths for messages
	seen       map[string]bool
	notes      map[string]bool
}

// DefaultServerRoot guesses ServerRoot for a main config when neither a
// binary nor a ServerRoot directive says: the parent of conf/ for RHEL's and
// the source layout (…/conf/httpd.conf), else the file's directory (Debian).
func DefaultServerRoot(main string) string {
	dir := path.Dir(main)
	if path.Base(dir) == "conf" {
		return path.Dir(dir)
	}
	return dir
}

// Parse reads main and everything it includes through fsys, evaluating
// conditionals, Define and ${VAR} as httpd does. Errors about the input are
// *audit.ConfigError ("path:line: message").
func Parse(fsys platform.FS, main string, opt ParseOptions) (*Config, error) {
	p := &parser{
		fsys: fsys, opt: opt,
		cfg:     &Config{Main: main, Defines: map[string]string{}, Modules: map[string]string{}, lines: map[string]int{}},
		vars:    map[string]string{},
		defined: map[string]bool{},
		modules: map[string]bool{},
		seen:    map[string]bool{},
		notes:   map[string]bool{},
	}
	p.serverRoot = opt.ServerRoot
	if p.serverRoot == "" {
		p.serverRoot = DefaultServerRoot(main)
	}
	for k, v := range opt.Defines {
		p.defined[k] = true
		if v != "" {
			p.vars[k] = v
		}
	}
	static := opt.StaticModules
	if static == nil {
		static = defaultStaticModules
	}
	for _, m := range static {
		p.modules[moduleID(m)] = true
	}
	if err := p.parseFile(main, "", 0, nil, true); err != nil {
		return nil, err
	}
	p.cfg.ServerRoot = p.serverRoot
	for k := range p.defined {
		p.cfg.Defines[k] = p.vars[k]
	}
	return p.cfg, nil
}

func (p *parser) note(s string) {
	if !p.notes[s] {
		p.notes[s] = true
		p.cfg.Notes = append(p.cfg.Notes, s)
	}
}

// moduleID maps a source file name to a module identifier: mod_ssl.c ->
// ssl_module, core.c -> core_module, http_core.c -> http_module. An
// identifier is returned unchanged.
func moduleID(name string) string {
	if !strings.HasSuffix(name, ".c") {
		return name
	}
	base := strings.TrimSuffix(name, ".c")
	switch base {
	case "core":
		return "core_module"
	case "http_core":
		return "http_module"
	}
	return strings.TrimPrefix(base, "mod_") + "_module"
}

// frame is an open section in the file being parsed.
type frame struct {
	sec    Section
	active bool // this and every enclosing section active
}

func (p *parser) parseFile(name, inclFile string, inclLine int, outer []Section, active bool) error {
	real := name
	if r, err := p.fsys.EvalSymlinks(name); err == nil {
		real = r
	}
	for i, s := range p.stack {
		if s == real {
			chain := append(append([]string(nil), p.stackNames[i:]...), name)
			return audit.Errorf(inclFile, inclLine, "include cycle: %s", strings.Join(chain, " -> "))
		}
	}
	if len(p.stack) >= maxIncludeDepth {
		return audit.Errorf(inclFile, inclLine, "includes nested deeper than %d", maxIncludeDepth)
	}
	src, err := p.fsys.ReadFile(name)
	if err != nil {
		if inclFile == "" {
			return &audit.ConfigError{Path: name, Msg: "cannot read config", Err: unwrapPath(err)}
		}
		return &audit.ConfigError{Path: inclFile, Line: inclLine, Msg: "cannot read " + name, Err: unwrapPath(err)}
	}
	if !p.seen[name] {
		p.seen[name] = true
		p.cfg.Files = append(p.cfg.Files, name)
		n := bytes.Count(src, []byte{'\n'})
		if len(src) > 0 && src[len(src)-1] != '\n' {
			n++
		}
		p.cfg.lines[name] = n
	}
	p.stack = append(p.stack, real)
	p.stackNames = append(p.stackNames, name)
	defer func() {
		p.stack = p.stack[:len(p.stack)-1]
		p.stackNames = p.stackNames[:len(p.stackNames)-1]
	}()

	var frames []frame
	var wordBuf []word
	// byDepth[i] is the section path with i local frames open; popping
	// reuses it instead of building the slice again.
	byDepth := [][]Section{outer}
	sections := outer
	isActive := active
	err = scanLines(src, func(ll *logicalLine) error {
		if isComment(ll.text) {
			return nil
		}
		text := ll.text
		if isActive && strings.Contains(text, "${") {
			text = p.resolveEnv(text)
		}
		wordBuf = appendWords(wordBuf[:0], text)
		words := wordBuf
		if len(words) == 0 {
			return nil
		}
		cmd := words[0].val
		depth := len(frames)
		switch {
		case strings.HasPrefix(cmd, "</"):
			tag := strings.TrimSuffix(cmd[2:], ">")
			if len(frames) == 0 {
				if !isActive {
					return nil // httpd never looks inside a false section
				}
				return audit.Errorf(name, ll.line, "</%s> without matching <%s> section", tag, tag)
			}
			top := frames[len(frames)-1]
			if !strings.EqualFold(top.sec.Name, tag) {
				if top.active {
					return audit.Errorf(name, ll.line, "expected </%s> but saw </%s>", top.sec.Name, tag)
				}
				// Inside a false section httpd only soaks lines up to the
				// matching end tag; tolerate a mismatch by closing up to
				// the nearest section of that name, if any.
				k := len(frames) - 1
				for k >= 0 && !strings.EqualFold(frames[k].sec.Name, tag) {
					k--
				}
				if k < 0 || frames[k].active {
					return nil
				}
				frames = frames[:k+1]
			}
			frames = frames[:len(frames)-1]
		case strings.HasPrefix(cmd, "<"):
			sec, err := p.openSection(name, ll, text, words, isActive)
			if err != nil {
				return err
			}
			sec.Index = len(p.cfg.Sections)
			sec.live = isActive && sec.Active
			p.cfg.Sections = append(p.cfg.Sections, sec)
			frames = append(frames, frame{sec: sec, active: isActive && sec.Active})
		default:
			raw := words
			if text != ll.text {
				raw = splitWords(ll.text)
			}
			d := Directive{File: name, Line: ll.line, EndLine: ll.endLine, Name: cmd,
				Args: vals(words[1:]), Sections: sections, Active: isActive}
			switch {
			case text == ll.text:
				d.RawArgs = d.Args // nothing substituted: share
			case len(raw) > 0:
				d.RawArgs = vals(raw[1:])
			}
			p.cfg.Directives = append(p.cfg.Directives, d)
			if isActive {
				if err := p.apply(&d, words, sections); err != nil {
					return err
				}
			}
		}
		if len(frames) == depth {
			return nil
		}
		// Recompute the section path and activity after a change.
		if len(frames) < len(byDepth) {
			byDepth = byDepth[:len(frames)+1]
		} else {
			next := make([]Section, 0, len(outer)+len(frames))
			next = append(next, byDepth[len(byDepth)-1]...)
			next = append(next, frames[len(frames)-1].sec)
			byDepth = append(byDepth, next)
		}
		sections, isActive = byDepth[len(frames)], active
		if len(frames) > 0 {
			isActive = frames[len(frames)-1].active
		}
		return nil
	})
	if err != nil {
		var ce *audit.ConfigError
		if errors.As(err, &ce) && ce.Path == "" {
			ce.Path = name
		}
		return err
	}
	if len(frames) > 0 {
		f := frames[len(frames)-1]
		return audit.Errorf(name, f.sec.Line, "<%s> was not closed", f.sec.Name)
	}
	return nil
}

func vals(ws []word) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.val
	}
	return out
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// openSection reads "<Name args>" like httpd: the arguments end at the last
// '>' on the line.
func (p *parser) openSection(file string, ll *logicalLine, text string, words []word, active bool) (Section, error) {
	name := words[0].val[1:]
	var args []string
	if strings.HasSuffix(name, ">") {
		name = strings.TrimSuffix(name, ">")
	} else {
		rest := text[words[0].end:]
		gt := strings.LastIndexByte(rest, '>')
		if gt < 0 {
			return Section{}, audit.Errorf(file, ll.line, "<%s> directive missing closing '>'", name)
		}
		args = vals(splitWords(rest[:gt]))
	}
	sec := Section{Name: name, Args: args, File: file, Line: ll.line, Active: true}
	if name == "" {
		return Section{}, audit.Errorf(file, ll.line, "empty section name")
	}
	if !active {
		return sec, nil
	}
	var err error
	switch strings.ToLower(name) {
	case "ifmodule":
		sec.Active, err = p.condition(file, ll.line, name, args, func(m string) bool { return p.modules[moduleID(m)] })
	case "ifdefine":
		sec.Active, err = p.condition(file, ll.line, name, args, func(n string) bool { return p.defined[n] })
	case "iffile":
		sec.Active, err = p.condition(file, ll.line, name, args, func(n string) bool {
			if !path.IsAbs(n) {
				n = path.Join(p.serverRoot, n)
			}
			_, err := p.fsys.Stat(n)
			return err == nil
		})
	case "ifdirective", "ifsection":
		prefix := ""
		if strings.EqualFold(name, "ifsection") {
			prefix = "<" // httpd registers sections as "<Name"
		}
		sec.Active, err = p.condition(file, ll.line, name, args, func(n string) bool {
			mods, known := directiveModules(prefix + n)
			if !known {
				if _, other := directiveModules(otherKind(prefix + n)); other {
					return false // a known directive asked as a section, or the reverse
				}
				// A third-party module's name, or none at all: httpd
				// would know which; we keep the contents rather than
				// drop directives it may apply.
				p.note(fmt.Sprintf("<%s %s>: no module tlsfloor knows registers %q; its contents are taken as active", name, args[0], n))
				return !strings.HasPrefix(args[0], "!")
			}
			return slices.ContainsFunc(mods, func(m string) bool { return m == "" || p.modules[m] })
		})
	case "ifversion":
		sec.Active, err = p.ifVersion(file, ll.line, args)
	case "macro":
		sec.Active = false
		p.note("<Macro> bodies are not expanded; directives inside them are reported as inactive")
	}
	return sec, err
}

// directiveModules returns the modules that register a directive or, as
// "<Name", a section (case-insensitively, like httpd); "" among them means
// every configuration has it. known is false for a name no module in
// moduleDirectives registers.
func directiveModules(name string) (mods []string, known bool) {
	for _, m := range moduleDirectives {
		if slices.ContainsFunc(m.names, func(n string) bool { return strings.EqualFold(n, name) }) {
			mods = append(mods, m.module)
		}
	}
	return mods, len(mods) > 0
}

// otherKind turns a section name ("<Name") into the directive name and back.
func otherKind(name string) string {
	if rest, ok := strings.CutPrefix(name, "<"); ok {
		return rest
	}
	return "<" + name
}

func (p *parser) condition(file string, line int, name string, args []string, test func(string) bool) (bool, error) {
	if len(args) == 0 || args[0] == "" || args[0] == "!" {
		return false, audit.Errorf(file, line, "<%s> needs an argument", name)
	}
	a := args[0]
	neg := strings.HasPrefix(a, "!")
	return test(strings.TrimPrefix(a, "!")) != neg, nil
}

// ifVersion evaluates <IfVersion [[!]op] version> as mod_version does.
func (p *parser) ifVersion(file string, line int, args []string) (bool, error) {
	op, want := "=", ""
	switch len(args) {
	case 1:
		want = args[0]
	case 2:
		op, want = args[0], args[1]
	default:
		return false, audit.Errorf(file, line, "<IfVersion> takes [[!]operator] version")
	}
	neg := strings.HasPrefix(op, "!")
	op = strings.TrimPrefix(op, "!")
	if !p.opt.Version.Known() {
		p.note("httpd version unknown: <IfVersion> sections are taken as true")
		return true, nil
	}
	have := p.opt.Version
	var res bool
	if op == "~" || (strings.HasPrefix(want, "/") && strings.HasSuffix(want, "/") && len(want) > 1 && (op == "=" || op == "==")) {
		expr := strings.TrimSuffix(strings.TrimPrefix(want, "/"), "/")
		re, err := regexp.Compile(expr)
		if err != nil {
			return false, audit.Errorf(file, line, "<IfVersion>: bad regular expression %q", expr)
		}
		res = re.MatchString(have.String())
	} else {
		v, err := audit.ParseServerVersion(want)
		if err != nil {
			return false, audit.Errorf(file, line, "<IfVersion>: bad version %q", want)
		}
		c := have.Compare(v)
		switch op {
		case "=", "==":
			// Parts not given match anything: 2.4 matches 2.4.62.
			c = 0
			for i, part := range v.Parts {
				h := 0
				if i < len(have.Parts) {
					h = have.Parts[i]
				}
				if h != part {
					c = 1
					break
				}
			}
			res = c == 0
		case ">":
			res = c > 0
		case ">=":
			res = c >= 0
		case "<":
			res = c < 0
		case "<=":
			res = c <= 0
		default:
			return false, audit.Errorf(file, line, "<IfVersion>: unknown operator %q", op)
		}
	}
	return res != neg, nil
}

// resolveEnv is ap_resolve_env: ${NAME} becomes the Define'd value, else the
// environment value; an undefined name stays as written.
func (p *parser) resolveEnv(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i+2:], '}')
		if j < 0 {
			break
		}
		name := s[i+2 : i+2+j]
		b.WriteString(s[:i])
		if v, ok := p.vars[name]; ok {
			b.WriteString(v)
		} else if v, ok := p.opt.Env[name]; ok {
			b.WriteString(v)
		} else {
			p.note(fmt.Sprintf("${%s} is not defined and stays as written", name))
			b.WriteString(s[i : i+3+j])
		}
		s = s[i+3+j:]
	}
	b.WriteString(s)
	return b.String()
}

// evaluated lists the directives whose arguments tlsfloor acts on; an
// unterminated quote there is an error because the value is in doubt
// (httpd itself would take the rest of the line).
var evaluated = map[string]bool{"sslprotocol": true, "sslproxyprotocol": true, "include": true,
	"includeoptional": true, "define": true, "undefine": true, "serverroot": true, "loadmodule": true}

// apply carries out the directives that change how the rest is read.
func (p *parser) apply(d *Directive, words []word, sections []Section) error {
	lname := strings.ToLower(d.Name)
	if !evaluated[lname] {
		return nil
	}
	for _, w := range words[1:] {
		if w.unterminated {
			return audit.Errorf(d.File, d.Line, "%s: unterminated quoted string", d.Name)
		}
	}
	switch lname {
	case "include", "includeoptional":
		if len(d.Args) != 1 {
			return audit.Errorf(d.File, d.Line, "%s takes one argument", d.Name)
		}
		return p.include(d, lname == "includeoptional", sections)
	case "define":
		if len(d.Args) < 1 || len(d.Args) > 2 {
			return audit.Errorf(d.File, d.Line, "Define takes one or two arguments")
		}
		if strings.Contains(d.Args[0], ":") {
			return audit.Errorf(d.File, d.Line, "Define: variable name must not contain ':'")
		}
		p.defined[d.Args[0]] = true
		if len(d.Args) == 2 {
			p.vars[d.Args[0]] = d.Args[1]
		}
	case "undefine":
		if len(d.Args) != 1 {
			return audit.Errorf(d.File, d.Line, "UnDefine takes one argument")
		}
		delete(p.defined, d.Args[0])
		delete(p.vars, d.Args[0])
	case "serverroot":
		if len(d.Args) != 1 {
			return audit.Errorf(d.File, d.Line, "ServerRoot takes one argument")
		}
		root := d.Args[0]
		if !path.IsAbs(root) {
			root = path.Join(p.serverRoot, root)
		}
		p.serverRoot = path.Clean(root)
	case "loadmodule":
		if len(d.Args) != 2 {
			return audit.Errorf(d.File, d.Line, "LoadModule takes two arguments")
		}
		p.modules[d.Args[0]] = true
		p.cfg.Modules[d.Args[0]] = d.Args[1]
	}
	return nil
}

// hasWildcard is apr_fnmatch_test: '*', '?' or a '[' with a later ']'.
func hasWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?':
			return true
		case '[':
			if strings.IndexByte(s[i:], ']') > 0 {
				return true
			}
		case '\\':
			i++
		}
	}
	return false
}

// include processes Include/IncludeOptional: a file, a directory (read
// recursively, entries in byte order) or a wildcard in the directory or
// file part; relative to ServerRoot.
func (p *parser) include(d *Directive, optional bool, sections []Section) error {
	target := d.Args[0]
	if !path.IsAbs(target) {
		target = path.Join(p.serverRoot, target)
	}
	target = path.Clean(target)
	if !hasWildcard(target) {
		fi, err := p.fsys.Stat(target)
		if err != nil {
			if optional && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return audit.Errorf(d.File, d.Line, "%s: could not open %s: %v", d.Name, target, unwrapPath(err))
		}
		return p.includePath(d, target, fi.IsDir(), sections)
	}
	matches, err := p.glob(target)
	if err != nil {
		return audit.Errorf(d.File, d.Line, "%s %s: %v", d.Name, target, err)
	}
	if len(matches) == 0 {
		if optional {
			return nil
		}
		return audit.Errorf(d.File, d.Line, "%s: no matches for the wildcard pattern %s", d.Name, target)
	}
	for _, m := range matches {
		fi, err := p.fsys.Stat(m)
		if err != nil {
			return audit.Errorf(d.File, d.Line, "%s: could not open %s: %v", d.Name, m, unwrapPath(err))
		}
		if err := p.includePath(d, m, fi.IsDir(), sections); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) includePath(d *Directive, name string, isDir bool, sections []Section) error {
	if !isDir {
		return p.parseFile(name, d.File, d.Line, sections, true)
	}
	ents, err := p.fsys.ReadDir(name)
	if err != nil {
		return audit.Errorf(d.File, d.Line, "%s: could not read directory %s: %v", d.Name, name, unwrapPath(err))
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Name() != "." && e.Name() != ".." {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		full := path.Join(name, n)
		fi, err := p.fsys.Stat(full)
		if err != nil {
			return audit.Errorf(d.File, d.Line, "%s: could not open %s: %v", d.Name, full, unwrapPath(err))
		}
		if err := p.includePath(d, full, fi.IsDir(), sections); err != nil {
			return err
		}
	}
	return nil
}

// glob expands a pattern component by component like httpd's
// fnmatch_configs: sorted matches, and a leading '.' in a name must be
// matched explicitly (APR_FNM_PERIOD), so *.conf skips .hidden.conf.
func (p *parser) glob(pattern string) ([]string, error) {
	parts := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	paths := []string{"/"}
	for i, part := range parts {
		last := i == len(parts)-1
		var next []string
		if !hasWildcard(part) {
			for _, dir := range paths {
				next = append(next, path.Join(dir, part))
			}
			paths = next
			continue
		}
		if _, err := path.Match(part, ""); err != nil {
			return nil, fmt.Errorf("bad pattern %q", part)
		}
		for _, dir := range paths {
			ents, err := p.fsys.ReadDir(dir)
			if err != nil {
				continue
			}
			var names []string
			for _, e := range ents {
				n := e.Name()
				if strings.HasPrefix(n, ".") && !strings.HasPrefix(part, ".") {
					continue
				}
				if ok, _ := path.Match(part, n); ok {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			for _, n := range names {
				full := path.Join(dir, n)
				if !last {
					if fi, err := p.fsys.Stat(full); err != nil || !fi.IsDir() {
						continue
					}
				}
				next = append(next, full)
			}
		}
		paths = next
	}
	var out []string
	for _, m := range paths {
		if _, err := p.fsys.Stat(m); err == nil {
			out = append(out, m)
		}
	}
	return out, nil
}
