package openssl

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// Conf is an openssl.cnf file with its .include files read in, as
// OpenSSL's NCONF reader sees it.
type Conf struct {
	Path     string
	sections map[string][]Entry
	// Missing lists .include targets that do not exist; OpenSSL skips
	// them silently ("missing include paths are not considered fatal").
	Missing []Entry
	// Files lists every file read, main file first.
	Files []string
}

// Entry is one "name = value" line with its place.
type Entry struct {
	Section string
	Key     string
	Value   string
	File    string
	Line    int
}

// Loc is the entry's file:line.
func (e Entry) Loc() audit.Location { return audit.Location{File: e.File, Line: e.Line} }

// DefaultSection is the name of the section before any [header].
const DefaultSection = "default"

const maxIncludeDepth = 10

// Section returns the entries of a section in OpenSSL's order: a repeated
// key replaces the earlier value and moves to the end, as NCONF does.
func (c *Conf) Section(name string) ([]Entry, bool) {
	es, ok := c.sections[name]
	return es, ok
}

// Get returns the value of key in section (falling back to the default
// section, as NCONF_get_string does).
func (c *Conf) Get(section, key string) (Entry, bool) {
	for _, s := range []string{section, DefaultSection} {
		for _, e := range c.sections[s] {
			if e.Key == key {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// ParseConf reads an openssl.cnf through fsys. Lines OpenSSL itself
// rejects (a missing "=", an unclosed "[section", a $variable without a
// value, includes nested too deep) give a *audit.ConfigError at path:line.
// Relative .include paths are read from ".pragma includedir", else from
// "/", the working directory of services (OpenSSL uses the process's).
func ParseConf(fsys platform.FS, name string) (*Conf, error) {
	p := &confParser{fsys: fsys, conf: &Conf{Path: name, sections: map[string][]Entry{}}, section: DefaultSection}
	p.conf.sections[DefaultSection] = nil
	if err := p.file(name, 0); err != nil {
		return nil, err
	}
	return p.conf, nil
}

type confParser struct {
	fsys       platform.FS
	conf       *Conf
	section    string
	dollarID   bool   // .pragma dollarid:on: '$' inside names is literal
	absPath    bool   // .pragma abspath:on: relative .include is an error
	includeDir string // .pragma includedir:DIR: base for relative .include
}

func (p *confParser) file(name string, depth int) error {
	data, err := readFile(p.fsys, name)
	if err != nil {
		return &audit.ConfigError{Path: name, Err: err}
	}
	p.conf.Files = append(p.conf.Files, name)
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSuffix(lines[i], "\r")
		// A backslash at the very end continues the line.
		for strings.HasSuffix(line, "\\") && !strings.HasSuffix(line, "\\\\") && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimSuffix(lines[i], "\r")
		}
		line = strings.TrimSpace(stripComment(line))
		if line == "" {
			continue
		}
		switch {
		case line[0] == '[':
			// "[", blanks, a name, blanks, "]", as conf_def.c reads it.
			// Names may hold blanks ("[ a b ]" is section "a b").
			rest := strings.TrimLeft(line[1:], " \t")
			end, q := 0, 0
			for {
				j := q
				for j < len(rest) && isNameChar(rest[j]) {
					j++
				}
				k := j
				for k < len(rest) && (rest[k] == ' ' || rest[k] == '\t') {
					k++
				}
				if k < len(rest) && rest[k] == ']' {
					end = j
					break
				}
				if k >= len(rest) || k == q {
					return audit.Errorf(name, lineNo, "missing close square bracket")
				}
				q = k
			}
			sec := rest[:end]
			p.section = sec
			if _, ok := p.conf.sections[sec]; !ok {
				p.conf.sections[sec] = nil
			}
		case strings.HasPrefix(line, ".include"):
			target := strings.TrimSpace(strings.TrimPrefix(line, ".include"))
			target = strings.TrimSpace(strings.TrimPrefix(target, "="))
			target = unquote(target)
			if target == "" {
				return audit.Errorf(name, lineNo, ".include without a path")
			}
			if err := p.include(name, lineNo, target, depth); err != nil {
				return err
			}
		case strings.HasPrefix(line, ".pragma"):
			v := strings.TrimSpace(strings.TrimPrefix(line, ".pragma"))
			v = strings.ReplaceAll(strings.TrimSpace(strings.TrimPrefix(v, "=")), " ", "")
			name, val, _ := strings.Cut(v, ":")
			on := val == "on" || val == "true"
			switch name {
			case "dollarid":
				p.dollarID = on
			case "abspath":
				p.absPath = on
			case "includedir":
				p.includeDir = val
			}
		default:
			if err := p.assignment(name, lineNo, line); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *confParser) include(from string, line int, target string, depth int) error {
	if depth >= maxIncludeDepth {
		return audit.Errorf(from, line, ".include nested more than %d deep (include loop?)", maxIncludeDepth)
	}
	if !strings.HasPrefix(target, "/") {
		if p.absPath {
			return audit.Errorf(from, line, "relative path %q with .pragma abspath", target)
		}
		// OpenSSL reads a relative path from .pragma includedir, else
		// from the process's working directory, which for services is /.
		base := "/"
		if strings.HasPrefix(p.includeDir, "/") {
			base = p.includeDir
		}
		target = path.Join(base, target)
	}
	fi, err := p.fsys.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		p.conf.Missing = append(p.conf.Missing, Entry{Section: p.section, Key: ".include", Value: target, File: from, Line: line})
		return nil
	}
	if err != nil {
		return &audit.ConfigError{Path: from, Line: line, Msg: ".include " + target, Err: err}
	}
	if !fi.IsDir() {
		return p.file(target, depth+1)
	}
	// A directory: its *.cnf and *.conf files. OpenSSL takes them in
	// readdir order; we sort so reports are stable.
	ents, err := p.fsys.ReadDir(target)
	if err != nil {
		return &audit.ConfigError{Path: from, Line: line, Msg: ".include " + target, Err: err}
	}
	var names []string
	for _, e := range ents {
		n := strings.ToLower(e.Name())
		if !e.IsDir() && (strings.HasSuffix(n, ".cnf") || strings.HasSuffix(n, ".conf")) {
			names = append(names, path.Join(target, e.Name()))
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if err := p.file(n, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (p *confParser) assignment(file string, line int, text string) error {
	i := 0
	for i < len(text) && isNameChar(text[i]) {
		i++
	}
	key, section := text[:i], p.section
	if strings.HasPrefix(text[i:], "::") {
		section, key = key, ""
		i += 2
		j := i
		for i < len(text) && isNameChar(text[i]) {
			i++
		}
		key = text[j:i]
	}
	rest := strings.TrimLeft(text[i:], " \t")
	if !strings.HasPrefix(rest, "=") {
		return audit.Errorf(file, line, "missing equal sign")
	}
	raw := strings.TrimSpace(rest[1:])
	value, err := p.expand(raw, section)
	if err != nil {
		return audit.Errorf(file, line, "%s: %v", key, err)
	}
	e := Entry{Section: section, Key: key, Value: value, File: file, Line: line}
	es := p.conf.sections[section]
	for k := range es {
		if es[k].Key == key {
			es = append(es[:k], es[k+1:]...)
			break
		}
	}
	p.conf.sections[section] = append(es, e)
	return nil
}

// expand removes quotes, applies backslash escapes and substitutes
// $var, ${var}, $(var) and $section::var, as NCONF's str_copy does.
func (p *confParser) expand(s, section string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\'':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				b.WriteString(s[i+1:])
				return strings.TrimSpace(b.String()), nil
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			default:
				b.WriteByte(s[i])
			}
		case c == '$' && i+1 < len(s):
			next := s[i+1]
			var close byte
			j := i + 1
			if next == '{' {
				close = '}'
				j++
			} else if next == '(' {
				close = ')'
				j++
			} else if !isVarChar(next) || p.dollarID {
				b.WriteByte(c)
				continue
			}
			start := j
			for j < len(s) && isVarChar(s[j]) {
				j++
			}
			name, sec := s[start:j], section
			if strings.HasPrefix(s[j:], "::") {
				sec = name
				j += 2
				k := j
				for j < len(s) && isVarChar(s[j]) {
					j++
				}
				name = s[k:j]
			}
			if close != 0 {
				if j >= len(s) || s[j] != close {
					return "", errors.New("no close brace")
				}
				j++
			}
			if sec == "ENV" {
				// The environment of the process that loads the file; not
				// ours to know. OpenSSL fails only when it is unset.
				b.WriteString("$ENV::" + name)
			} else if e, ok := p.conf.Get(sec, name); ok {
				b.WriteString(e.Value)
			} else {
				return "", errors.New("variable has no value: $" + name)
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// stripComment cuts a '#' comment that is not quoted or escaped.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return s[:i]
		}
	}
	return s
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func isVarChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isNameChar is OpenSSL's CONF_ALNUM_PUNCT class for names.
func isNameChar(c byte) bool {
	return isVarChar(c) || strings.IndexByte("!.%&*+,/;?@^~|-", c) >= 0
}

// readFile reads name after resolving its links through fsys, so that under
// --root an absolute link (RHEL's back-ends/opensslcnf.config ->
// /usr/share/crypto-policies/...) stays inside the root.
func readFile(fsys platform.FS, name string) ([]byte, error) {
	real, err := fsys.EvalSymlinks(name)
	if err != nil {
		return nil, err
	}
	return fsys.ReadFile(real)
}
