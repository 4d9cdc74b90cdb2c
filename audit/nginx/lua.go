package nginx

import (
	"bytes"
	"strings"
)

// blankLuaComments returns data with the Lua comments inside
// *_by_lua_block bodies replaced by spaces (newlines kept, so every line
// number stays the same). crossplane v0.4.89's Lua lexer does not know Lua
// comments: a brace or an apostrophe in "-- that'll {" unbalances it and a
// valid OpenResty config fails to parse. Comments carry no meaning for the
// audit, and the Lua bodies are only ever one opaque argument. Input
// without a Lua block, or one this scanner cannot follow, is returned as
// is and left to crossplane.
func blankLuaComments(data []byte) []byte {
	if !bytes.Contains(data, []byte("_by_lua_block")) {
		return data
	}
	out := append([]byte(nil), data...)
	n := len(out)
	stmtStart := true // the next token is a directive name
	isLua := false    // the current statement is a *_by_lua_block
	for i := 0; i < n; {
		c := out[i]
		switch {
		case c == '#':
			for i < n && out[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == ';' || c == '}':
			stmtStart, isLua = true, false
			i++
		case c == '{':
			if isLua {
				end, ok := blankLuaBody(out, i+1)
				if !ok {
					return data
				}
				i = end
			} else {
				i++
			}
			stmtStart, isLua = true, false
		default:
			// A token, quoted or not (quotes may be glued to plain text).
			start := i
			var tok strings.Builder
			for i < n {
				c = out[i]
				if c == '"' || c == '\'' {
					q := c
					i++
					for i < n && out[i] != q {
						if out[i] == '\\' {
							i++
						}
						if i < n {
							tok.WriteByte(out[i])
						}
						i++
					}
					i++
					continue
				}
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{' || c == '}' {
					break
				}
				if c == '\\' && i+1 < n {
					i++
				}
				tok.WriteByte(out[i])
				i++
			}
			if i == start {
				i++
			}
			if stmtStart {
				isLua = strings.HasSuffix(tok.String(), "_by_lua_block")
			}
			stmtStart = false
		}
	}
	return out
}

// blankLuaBody scans Lua from i (just after the opening brace) to the
// matching closing brace, blanking comments; it returns the index after
// that brace.
func blankLuaBody(b []byte, i int) (int, bool) {
	n := len(b)
	depth := 1
	for i < n {
		c := b[i]
		switch {
		case c == '-' && i+1 < n && b[i+1] == '-':
			start := i
			i += 2
			if lvl, ok := longBracket(b, i); ok {
				end, ok := closeLong(b, i+lvl+2, lvl)
				if !ok {
					return 0, false
				}
				i = end
			} else {
				for i < n && b[i] != '\n' {
					i++
				}
			}
			for j := start; j < i; j++ {
				if b[j] != '\n' && b[j] != '\r' {
					b[j] = ' '
				}
			}
		case c == '"' || c == '\'':
			i++
			for i < n && b[i] != c && b[i] != '\n' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case c == '[':
			if lvl, ok := longBracket(b, i); ok {
				end, ok := closeLong(b, i+lvl+2, lvl)
				if !ok {
					return 0, false
				}
				i = end
			} else {
				i++
			}
		case c == '{':
			depth++
			i++
		case c == '}':
			depth--
			i++
			if depth == 0 {
				return i, true
			}
		default:
			i++
		}
	}
	return 0, false
}

// longBracket reports whether b[i:] opens a Lua long bracket "[[" or
// "[==[" and returns its level (number of '=').
func longBracket(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '[' {
		return 0, false
	}
	j := i + 1
	for j < len(b) && b[j] == '=' {
		j++
	}
	if j < len(b) && b[j] == '[' {
		return j - i - 1, true
	}
	return 0, false
}

// closeLong finds the "]]" (or "]==]") closing a long bracket of level lvl
// and returns the index after it.
func closeLong(b []byte, i, lvl int) (int, bool) {
	closing := "]" + strings.Repeat("=", lvl) + "]"
	k := bytes.Index(b[i:], []byte(closing))
	if k < 0 {
		return 0, false
	}
	return i + k + len(closing), true
}
