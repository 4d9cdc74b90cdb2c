package locate

import (
	"strings"
)

// ApacheLine is one logical line of an Apache configuration file: physical
// lines joined by backslash continuations.
type ApacheLine struct {
	// Start is the offset of the first byte of the first physical line;
	// End the offset after the last content byte (before the final line
	// ending); Next the offset after the final line ending.
	Start, End, Next int
	// Line and EndLine are the first and last physical lines (1-based).
	Line, EndLine int
	// Name is the directive or section name ("SSLProtocol", "<IfModule",
	// "</VirtualHost>"); empty for a blank or comment line.
	Name    Token
	Args    []Token
	Comment bool
}

// ArgsSpan is the byte range from the first argument to the end of the last
// one; for a directive without arguments, the empty range after the name.
func (l ApacheLine) ArgsSpan() (start, end int) {
	if len(l.Args) == 0 {
		return l.Name.End, l.Name.End
	}
	return l.Args[0].Start, l.Args[len(l.Args)-1].End
}

// ApacheFile is a file split into logical lines.
type ApacheFile struct {
	Src   []byte
	Lines []ApacheLine
}

// LexApache splits src into logical lines the way httpd's config reader
// does: a physical line whose content ends in a backslash continues on the
// next one, the backslash and line break being dropped; a line whose first
// non-blank character is "#" is a comment; words are split by ap_getword_conf's rules (whitespace separates,
// a word that starts with a quote runs to the matching quote or the end of
// the line; "\\" becomes "\" in every word and an escaped quote becomes
// the quote inside a quoted word). It never fails.
func LexApache(src []byte) *ApacheFile {
	f := &ApacheFile{Src: src}
	var (
		buf []byte
		pos []int
	)
	line := 1
	// A UTF-8 byte-order mark is not skipped: httpd 2.4 reads it as part of
	// the first word (checked with apache2 -t: "Invalid command
	// '\xef\xbb\xbfServerName'"), and so does audit/apache.
	off := 0
	for off < len(src) {
		l := ApacheLine{Start: off, Line: line}
		buf, pos = buf[:0], pos[:0]
		for {
			_, contentEnd, next := LineBounds(src, off)
			// Any line ending in a backslash continues, even "\\\\" (checked
			// with apache2 -t 2.4.71: "x\\\\" + newline + "Bogus line" makes
			// ServerName take two arguments).
			cont := contentEnd < next && contentEnd-off >= 1 && src[contentEnd-1] == '\\'
			end := contentEnd
			if cont {
				end-- // drop the backslash
			}
			for i := off; i < end; i++ {
				buf = append(buf, src[i])
				pos = append(pos, i)
			}
			l.EndLine = line
			l.End = contentEnd
			l.Next = next
			if next > contentEnd {
				line++
			}
			off = next
			if !cont || off >= len(src) {
				break
			}
		}
		splitApache(&l, buf, pos)
		f.Lines = append(f.Lines, l)
	}
	return f
}

func isApacheSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// splitApache fills Name, Args and Comment from the logical line's bytes;
// pos maps each byte back to its offset in the source.
func splitApache(l *ApacheLine, buf []byte, pos []int) {
	i := 0
	skip := func() {
		for i < len(buf) && isApacheSpace(buf[i]) {
			i++
		}
	}
	skip()
	if i == len(buf) {
		return
	}
	if buf[i] == '#' {
		l.Comment = true
		return
	}
	var words []Token
	for skip(); i < len(buf); skip() {
		start := i
		var val strings.Builder
		quoted := false
		if q := buf[i]; q == '"' || q == '\'' {
			quoted = true
			i++
			for i < len(buf) && buf[i] != q {
				if buf[i] == '\\' && i+1 < len(buf) && (buf[i+1] == q || buf[i+1] == '\\') {
					val.WriteByte(buf[i+1])
					i += 2
					continue
				}
				val.WriteByte(buf[i])
				i++
			}
			if i < len(buf) {
				i++ // closing quote
			}
		} else {
			for i < len(buf) && !isApacheSpace(buf[i]) {
				// httpd's substring_conf unescapes "\\" in every word.
				if buf[i] == '\\' && i+1 < len(buf) && buf[i+1] == '\\' {
					val.WriteByte('\\')
					i += 2
					continue
				}
				val.WriteByte(buf[i])
				i++
			}
		}
		words = append(words, Token{Start: pos[start], End: pos[i-1] + 1, Value: val.String(), Quoted: quoted, Line: l.Line})
	}
	l.Name = words[0]
	l.Args = words[1:]
}

// Locate returns the directive named name (case-insensitive, as httpd
// compares names) that starts on line, after checking that its words equal
// args: the arguments exactly as written (quotes removed, ${VAR} not
// expanded).
func (f *ApacheFile) Locate(line int, name string, args []string) (ApacheLine, error) {
	l, ok := f.LineAt(line)
	if !ok || l.Comment || !strings.EqualFold(l.Name.Value, name) {
		return ApacheLine{}, uncertain(line, name, "no such directive starts on the line")
	}
	if !equalArgs(l.Args, args) {
		return ApacheLine{}, uncertain(line, name, "arguments %q differ from the parser's %q", values(l.Args), args)
	}
	return l, nil
}

// LineAt returns the logical line that starts on physical line line.
func (f *ApacheFile) LineAt(line int) (ApacheLine, bool) {
	lo, hi := 0, len(f.Lines)
	for lo < hi {
		mid := (lo + hi) / 2
		if f.Lines[mid].Line < line {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(f.Lines) && f.Lines[lo].Line == line {
		return f.Lines[lo], true
	}
	return ApacheLine{}, false
}
