package locate

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NginxDirective is one simple or block directive found in the original
// bytes of an nginx file.
type NginxDirective struct {
	Name Token
	Args []Token
	// Comments are the comment tokens between the name and the terminator
	// (crossplane drops them from Args).
	Comments []Token
	// Term is the terminating ";" or "{" (or "}", which crossplane also
	// accepts; nginx would refuse the directive).
	Term Token
	// Depth is the number of enclosing blocks in this file.
	Depth int
}

// Line is the line on which the directive's name starts, as crossplane
// reports it.
func (d NginxDirective) Line() int { return d.Name.Line }

// ArgsSpan is the byte range from the first argument to the end of the
// last one; for a directive without arguments, the empty range right after
// the name.
func (d NginxDirective) ArgsSpan() (start, end int) {
	if len(d.Args) == 0 {
		return d.Name.End, d.Name.End
	}
	return d.Args[0].Start, d.Args[len(d.Args)-1].End
}

// NginxFile is a lexed nginx file. Lex a file once and locate any number of
// directives in it.
type NginxFile struct {
	Src        []byte
	Directives []NginxDirective
	// Blocks maps the index of a block directive (Term "{") to the index of
	// its closing "}" token in the source (byte offset).
	closes map[int]int
	starts []int
}

// LexNginx lexes src exactly as nginx-go-crossplane v0.4.89 does (runes
// decoded one at a time with invalid bytes as U+FFFD, CRs skipped, backslash
// escapes kept, quotes only at the start of a token, "${" variables, "#"
// comments at the start of a token) and groups the tokens into directives.
// It fails where crossplane's lexer or parser fails on token structure.
func LexNginx(src []byte) (*NginxFile, error) {
	toks, err := lexNginx(src)
	if err != nil {
		return nil, err
	}
	f := &NginxFile{Src: src, closes: map[int]int{}, starts: LineStarts(src)}
	var open []int // indexes of block directives whose "}" is pending
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.kind == tokComment {
			i++
			continue
		}
		if t.kind == tokSpecial && t.Value == "}" {
			if len(open) == 0 {
				return nil, fmt.Errorf("line %d: unexpected \"}\"", t.Line)
			}
			f.closes[open[len(open)-1]] = t.Start
			open = open[:len(open)-1]
			i++
			continue
		}
		d := NginxDirective{Name: t.Token, Depth: len(open)}
		i++
		for ; i < len(toks); i++ {
			a := toks[i]
			if a.kind == tokSpecial {
				break
			}
			if a.kind == tokComment {
				d.Comments = append(d.Comments, a.Token)
				continue
			}
			d.Args = append(d.Args, a.Token)
		}
		if i == len(toks) {
			return nil, fmt.Errorf("line %d: unexpected end of file in %q", t.Line, t.Value)
		}
		// Like crossplane, accept "}" as a terminator: it then ends the
		// directive, not the enclosing block (nginx itself would refuse such
		// a directive; the parse check decides).
		term := toks[i]
		d.Term = term.Token
		f.Directives = append(f.Directives, d)
		if term.Value == "{" {
			open = append(open, len(f.Directives)-1)
		}
		i++
	}
	return f, nil
}

// Locate returns the k-th directive (0-based) named name whose name starts
// on line, after checking that its arguments equal args (crossplane's Args).
func (f *NginxFile) Locate(line int, name string, k int, args []string) (NginxDirective, error) {
	seen := 0
	for _, d := range f.Directives {
		if d.Name.Line != line || d.Name.Value != name {
			continue
		}
		if seen < k {
			seen++
			continue
		}
		if !equalArgs(d.Args, args) {
			return NginxDirective{}, uncertain(line, name, "arguments %q differ from the parser's %q", values(d.Args), args)
		}
		return d, nil
	}
	return NginxDirective{}, uncertain(line, name, "no directive #%d with that name on the line", k+1)
}

// LocateOrdinal returns the directive that audit/nginx numbers ordinal
// (0-based) among all directives starting on line, after checking its name
// and that its arguments equal args.
func (f *NginxFile) LocateOrdinal(line, ordinal int, name string, args []string) (NginxDirective, error) {
	lo, hi := 0, len(f.Directives)
	for lo < hi {
		mid := (lo + hi) / 2
		if f.Directives[mid].Name.Line < line {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	idx := lo + ordinal
	if idx >= len(f.Directives) || f.Directives[idx].Name.Line != line {
		return NginxDirective{}, uncertain(line, name, "no directive #%d on the line", ordinal+1)
	}
	d := f.Directives[idx]
	if d.Name.Value != name {
		return NginxDirective{}, uncertain(line, name, "directive #%d on the line is %q", ordinal+1, d.Name.Value)
	}
	if !equalArgs(d.Args, args) {
		return NginxDirective{}, uncertain(line, name, "arguments %q differ from the parser's %q", values(d.Args), args)
	}
	return d, nil
}

// BlockClose returns the byte offset of the "}" that closes block directive
// d (as returned by Locate on this file).
func (f *NginxFile) BlockClose(d NginxDirective) (int, bool) {
	for i := range f.Directives {
		if f.Directives[i].Name.Start == d.Name.Start {
			off, ok := f.closes[i]
			return off, ok
		}
	}
	return 0, false
}

type tokKind uint8

const (
	tokWord tokKind = iota
	tokComment
	tokSpecial // an unquoted "{", "}" or ";"
)

type lexTok struct {
	Token
	kind tokKind
}

type lexState uint8

const (
	stSkip lexState = iota
	stWord
	stComment
	stVar
	stQuote
)

// valBuf accumulates a token's value; reused across tokens so that each
// token costs one allocation (its string).
type valBuf struct{ b []byte }

func (v *valBuf) WriteRune(r rune) {
	if r < utf8.RuneSelf {
		v.b = append(v.b, byte(r))
		return
	}
	v.b = utf8.AppendRune(v.b, r)
}
func (v *valBuf) WriteByte(c byte) error { v.b = append(v.b, c); return nil }
func (v *valBuf) Len() int               { return len(v.b) }
func (v *valBuf) String() string         { return string(v.b) }
func (v *valBuf) Reset()                 { v.b = v.b[:0] }
func (v *valBuf) hasSuffix(c byte) bool  { return len(v.b) > 0 && v.b[len(v.b)-1] == c }

func isNgxSpace(r rune, esc bool) bool { return !esc && unicode.IsSpace(r) }

// lexNginx mirrors crossplane's tokenize (lex.go) state for state, but over
// bytes and with spans. la is the current "character" as crossplane sees it:
// a rune, or a backslash plus a rune when esc is set.
func lexNginx(src []byte) ([]lexTok, error) {
	var (
		toks       = make([]lexTok, 0, len(src)/8+4)
		val        valBuf
		state      = stSkip
		line       = 1
		startLine  = 1
		start      = 0 // byte offset where the current token starts
		newToken   bool
		dupSpecial bool
		depth      int
		quote      rune
		escPending bool // a backslash was read; its offset is escStart
		escStart   int
		// atDirective is crossplane's nextTokenIsDirective: true at the
		// start of a statement and after every newline. It decides when a
		// *_by_lua_block name switches to the Lua lexer.
		atDirective = true
	)
	emit := func(end int, quoted bool, kind tokKind) {
		toks = append(toks, lexTok{Token: Token{Start: start, End: end, Value: val.String(), Quoted: quoted, Line: startLine}, kind: kind})
		val.Reset()
		state = stSkip
	}
	i := 0
	for i < len(src) {
		r, size := parserRune(src, i)
		off := i
		i += size
		if r == '\n' {
			line++
			atDirective = true
		}
		if r == '\r' {
			continue
		}
		if r == '\\' && !escPending {
			escPending = true
			escStart = off
			continue
		}
		esc := escPending
		laStart := off
		if esc {
			escPending = false
			laStart = escStart
		}
		laEnd := i
		if val.Len() > 0 && atDirective && luaDirectives[string(val.b)] {
			// crossplane hands the rest of a *_by_lua_block directive to its
			// Lua lexer as soon as the name is complete, whatever character
			// follows. Follow it only where the result is unambiguous: the
			// name ends at a blank (or at its closing quote).
			quoted := state == stQuote
			if quoted && (esc || r != quote) || !quoted && !isNgxSpace(r, esc) {
				return nil, fmt.Errorf("line %d: %s: unsupported layout", startLine, val.String())
			}
			emit(laEnd, quoted, tokWord)
			if !quoted {
				toks[len(toks)-1].End = laStart
			}
			var err error
			var luaToks []lexTok
			luaToks, i, line, err = lexLua(src, i, line, toks[len(toks)-1].Value)
			if err != nil {
				return nil, err
			}
			toks = append(toks, luaToks...)
			continue
		}
		write := func() {
			if esc {
				val.WriteByte('\\')
			}
			val.WriteRune(r)
		}
		// A character may be re-evaluated after a state change (crossplane's
		// readNext = false); loop until it is consumed.
		for again := true; again; {
			again = false
			switch state {
			case stSkip:
				if !isNgxSpace(r, esc) {
					state = stWord
					newToken = true
					startLine = line
					start = laStart
					again = true
				}
			case stWord:
				if newToken {
					newToken = false
					if r == '#' && !esc {
						val.WriteRune(r)
						atDirective = false
						state = stComment
						startLine = line
						continue
					}
				}
				if isNgxSpace(r, esc) {
					emit(laStart, false, tokWord)
					atDirective = false
					continue
				}
				if val.Len() > 0 && !esc && r == '{' && val.hasSuffix('$') {
					atDirective = false
					val.WriteRune(r)
					state = stVar
					dupSpecial = false
					continue
				}
				if !esc && (r == '"' || r == '\'') {
					if val.Len() > 0 {
						val.WriteRune(r)
					} else {
						quote = r
						state = stQuote
						startLine = line
						start = laStart
					}
					dupSpecial = false
					continue
				}
				if !esc && (r == '{' || r == '}' || r == ';') {
					if val.Len() > 0 {
						emit(laStart, false, tokWord)
					}
					if dupSpecial && r != '}' {
						return nil, fmt.Errorf("line %d: unexpected %q", line, string(r))
					}
					dupSpecial = true
					if r == '{' {
						depth++
					}
					if r == '}' {
						depth--
						if depth < 0 {
							return nil, fmt.Errorf("line %d: unexpected \"}\"", line)
						}
					}
					start = laStart
					startLine = line
					val.WriteRune(r)
					emit(laEnd, false, tokSpecial)
					atDirective = true
					continue
				}
				dupSpecial = false
				write()
			case stComment:
				if r == '\n' {
					// A comment ends at the newline; the span excludes a CR
					// before it (crossplane skipped that CR).
					end := laStart
					if esc {
						end = escStart
					}
					for end > start && src[end-1] == '\r' {
						end--
					}
					emit(end, false, tokComment)
					continue
				}
				write()
			case stVar:
				write()
				if !val.hasSuffix('}') && !isNgxSpace(r, esc) {
					continue
				}
				state = stWord
			case stQuote:
				if !esc && r == quote {
					emit(laEnd, true, tokWord)
					continue
				}
				if esc && r == quote {
					val.WriteRune(r)
					continue
				}
				write()
			}
		}
	}
	if val.Len() > 0 {
		kind := tokWord
		if state == stComment {
			kind = tokComment
		}
		end := len(src)
		for end > start && src[end-1] == '\r' {
			end--
		}
		if state == stQuote {
			return nil, fmt.Errorf("line %d: unexpected end of file in a quoted string", startLine)
		}
		emit(end, false, kind)
	}
	if depth > 0 {
		return nil, fmt.Errorf("line %d: unexpected end of file, expecting \"}\"", line)
	}
	return toks, nil
}

// luaDirectives are the directives crossplane's Lua lexer takes over
// (crossplane.Lua, registered by audit/nginx).
var luaDirectives = map[string]bool{
	"init_by_lua_block": true, "init_worker_by_lua_block": true, "exit_worker_by_lua_block": true,
	"set_by_lua_block": true, "content_by_lua_block": true, "server_rewrite_by_lua_block": true,
	"rewrite_by_lua_block": true, "access_by_lua_block": true, "header_filter_by_lua_block": true,
	"body_filter_by_lua_block": true, "log_by_lua_block": true, "balancer_by_lua_block": true,
	"ssl_client_hello_by_lua_block": true, "ssl_certificate_by_lua_block": true,
	"ssl_session_fetch_by_lua_block": true, "ssl_session_store_by_lua_block": true,
}

// lexLua mirrors crossplane's Lua.Lex from offset i: for set_by_lua_block
// one blank-delimited argument, then blanks, "{", and the body up to the
// matching "}" (braces inside quotes do not count; CRs are kept) as one
// quoted token, followed by a ";" that has no bytes. It returns the tokens,
// the offset and line after the block.
func lexLua(src []byte, i, line int, name string) ([]lexTok, int, int, error) {
	var toks []lexTok
	next := func() (rune, int, bool) {
		if i >= len(src) {
			return 0, 0, false
		}
		r, size := parserRune(src, i)
		off := i
		i += size
		if r == '\n' {
			line++
		}
		return r, off, true
	}
	eof := fmt.Errorf("line %d: unexpected end of file in %s", line, name)
	if name == "set_by_lua_block" {
		var arg strings.Builder
		start := -1
		for {
			r, off, ok := next()
			if !ok {
				return nil, 0, 0, eof
			}
			if unicode.IsSpace(r) {
				if arg.Len() > 0 {
					toks = append(toks, lexTok{Token: Token{Start: start, End: off, Value: arg.String(), Line: line}})
					break
				}
				for unicode.IsSpace(r) {
					if r, off, ok = next(); !ok {
						return nil, 0, 0, eof
					}
				}
			}
			if start < 0 {
				start = off
			}
			arg.WriteRune(r)
		}
	}
	open := -1
	for open < 0 {
		r, off, ok := next()
		if !ok {
			return nil, 0, 0, eof
		}
		if unicode.IsSpace(r) {
			continue
		}
		if r != '{' {
			return nil, 0, 0, fmt.Errorf("line %d: expected \"{\" to start lua block", line)
		}
		open = off
	}
	var body strings.Builder
	depth := 1
	var inQuote bool
	var quote rune
	for {
		r, _, ok := next()
		if !ok {
			return nil, 0, 0, eof
		}
		switch {
		case r == '{' && !inQuote:
			depth++
			body.WriteRune(r)
		case r == '}' && !inQuote:
			depth--
			if depth == 0 {
				toks = append(toks,
					lexTok{Token: Token{Start: open, End: i, Value: body.String(), Quoted: true, Line: line}},
					lexTok{Token: Token{Start: i, End: i, Value: ";", Line: line}, kind: tokSpecial})
				return toks, i, line, nil
			}
			body.WriteRune(r)
		case r == '"' || r == '\'':
			if !inQuote {
				inQuote, quote = true, r
			} else if r == quote {
				inQuote = false
			}
			body.WriteRune(r)
		default:
			body.WriteRune(r)
		}
	}
}
