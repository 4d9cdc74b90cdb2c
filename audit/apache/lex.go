package apache

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
)

// logicalLine is one line as httpd's ap_cfg_getline returns it: physical
// lines ending in a backslash joined (backslash and line break removed,
// nothing inserted), without the final line terminator.
type logicalLine struct {
	text       string
	start, end int // source span of the content (end excludes the terminator)
	term       int // length of the terminator: 0 (EOF), 1 ("\n") or 2 ("\r\n")
	line       int // first physical line
	endLine    int // last physical line
	// segs maps logical positions to source offsets when the text is not a
	// plain copy of src[start:end] (a continuation or an escaped final
	// backslash was removed); nil otherwise.
	segs []seg
}

// seg says that text[pos:] starts at src[off:], until the next seg.
type seg struct{ pos, off int }

// srcOff maps a logical position (0..len(text)) to a source offset.
func (l *logicalLine) srcOff(p int) int {
	if l.segs == nil {
		return l.start + p
	}
	if p >= len(l.text) {
		return l.end
	}
	i := len(l.segs) - 1
	for i > 0 && l.segs[i].pos > p {
		i--
	}
	return l.segs[i].off + p - l.segs[i].pos
}

// isSpace is C's isspace in the "C" locale, which ap_getword_conf uses.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// checkBinary rejects bytes that never occur in a text config: NUL and the
// C0 controls other than tab, line breaks, VT, FF and ESC. httpd would stop
// at a NUL silently; a config with one is corrupt, not something to audit.
func checkBinary(src []byte) error {
	line := 1
	for _, c := range src {
		switch {
		case c == '\n':
			line++
		case c < 0x20 && c != '\t' && c != '\r' && c != '\v' && c != '\f' && c != 0x1b:
			return &audit.ConfigError{Line: line, Msg: fmt.Sprintf("binary data (byte 0x%02x) in a config file", c)}
		}
	}
	return nil
}

// scanLines splits src into logical lines the way ap_cfg_getline_core does:
// a line whose last character before "\n" (or "\r\n") is a backslash
// continues on the next line, the backslash and line break removed. Checked
// with httpd 2.4.71: a doubled final backslash continues too, keeping one.
func scanLines(src []byte, yield func(*logicalLine) error) error {
	if err := checkBinary(src); err != nil {
		return err
	}
	// One string for the whole file: a line without continuations is a
	// substring of it, so most lines cost no allocation.
	str := string(src)
	var ll logicalLine
	pos, line := 0, 1
	for pos < len(src) {
		ll = logicalLine{start: pos, line: line}
		var b strings.Builder
		joined := false
		for {
			nl := indexByte(src, pos, '\n')
			contentEnd, next, term := len(src), len(src), 0
			if nl >= 0 {
				contentEnd, next, term = nl, nl+1, 1
				if contentEnd > pos && src[contentEnd-1] == '\r' {
					contentEnd--
					term = 2
				}
			}
			if term > 0 && contentEnd > pos && src[contentEnd-1] == '\\' {
				ll.segs = append(ll.segs, seg{pos: b.Len(), off: pos})
				b.Write(src[pos : contentEnd-1])
				joined = true
				pos, line = next, line+1
				if pos >= len(src) {
					// A continuation at the very end: nothing follows.
					ll.end, ll.term, ll.endLine = len(src), 0, line-1
					break
				}
				continue
			}
			if joined {
				ll.segs = append(ll.segs, seg{pos: b.Len(), off: pos})
				b.Write(src[pos:contentEnd])
			}
			ll.end, ll.term, ll.endLine = contentEnd, term, line
			pos = next
			if term > 0 {
				line++
			}
			break
		}
		if joined {
			ll.text = b.String()
		} else {
			ll.text = str[ll.start:ll.end]
			ll.segs = nil
		}
		if err := yield(&ll); err != nil {
			return err
		}
	}
	return nil
}

func indexByte(src []byte, from int, c byte) int {
	if i := bytes.IndexByte(src[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// word is one argument found by splitWords: text[start:end] as written.
type word struct {
	start, end   int
	val          string
	quote        byte
	unterminated bool
}

// splitWords splits a logical line as repeated ap_getword_conf calls do: a
// word starting with a double or single quote runs to the matching quote
// (\q and \\ unescaped inside), or to the end of the line when the quote is
// never closed; any other word runs to the next blank, with \\ unescaped.
func splitWords(s string) []word { return appendWords(nil, s) }

// appendWords is splitWords appending to out (reused by the parser).
func appendWords(out []word, s string) []word {
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return out
		}
		w := word{start: i}
		if q := s[i]; q == '"' || q == '\'' {
			w.quote = q
			j := i + 1
			for j < len(s) && s[j] != q {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == q || s[j+1] == '\\') {
					j += 2
				} else {
					j++
				}
			}
			w.val = unescape(s[i+1:j], q)
			if j < len(s) {
				j++
			} else {
				w.unterminated = true
			}
			w.end = j
			i = j
		} else {
			j := i
			for j < len(s) && !isSpace(s[j]) {
				j++
			}
			w.val = unescape(s[i:j], 0)
			w.end = j
			i = j
		}
		out = append(out, w)
	}
}

// unescape is httpd's substring_conf: "\\" becomes "\" and, inside quotes,
// "\q" becomes q.
func unescape(s string, quote byte) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '\\' || (quote != 0 && s[i+1] == quote)) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// isComment reports whether a logical line is a comment: its first
// non-blank character is '#'. httpd has no trailing comments.
func isComment(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return s[i] == '#'
		}
	}
	return false
}

// Lex splits src into tokens whose byte spans cover src exactly, in order.
// It fails only on binary input (NUL and other control bytes), with a
// *audit.ConfigError carrying the line (and no path).
func Lex(src []byte) ([]Token, error) {
	var nls []int
	for i, c := range src {
		if c == '\n' {
			nls = append(nls, i)
		}
	}
	lineOf := func(off int) int { return 1 + sort.SearchInts(nls, off) }
	var toks []Token
	add := func(k TokenKind, from, to int) *Token {
		if to <= from {
			return nil
		}
		toks = append(toks, Token{Kind: k, Start: from, End: to, Line: lineOf(from)})
		return &toks[len(toks)-1]
	}
	err := scanLines(src, func(ll *logicalLine) error {
		if isComment(ll.text) {
			i := 0
			for isSpace(ll.text[i]) {
				i++
			}
			off := ll.srcOff(i)
			add(Space, ll.start, off)
			add(Comment, off, ll.end)
		} else {
			prev := ll.start
			for _, w := range splitWords(ll.text) {
				s, e := ll.srcOff(w.start), ll.srcOff(w.end-1)+1
				if w.end == len(ll.text) {
					e = ll.end
				}
				add(Space, prev, s)
				t := add(Word, s, e)
				t.Value, t.Quote, t.Unterminated = w.val, w.quote, w.unterminated
				prev = e
			}
			add(Space, prev, ll.end)
		}
		add(Newline, ll.end, ll.end+ll.term)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return toks, nil
}
