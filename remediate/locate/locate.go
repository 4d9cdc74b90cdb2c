// Package locate finds nginx and Apache directives by byte offset in the
// original bytes of a configuration file, so that a fix can replace exactly
// the bytes of one directive and leave everything else (comments, quoting,
// indentation, line endings, bytes that are not UTF-8) untouched.
//
// The parsers in audit/nginx and audit/apache say what a directive means and
// on which line it starts; they keep no byte offsets. This package lexes the
// original bytes the same way the parsers do, picks the directive the caller
// names (line, name, k-th on the line) and refuses unless the tokens it found
// equal the arguments the parser reported. It imports nothing from tlsfloor.
package locate

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrUncertain means the located tokens do not match what the parser
// reported, or the directive is not where the parser said: a caller must not
// edit the file.
var ErrUncertain = errors.New("cannot locate directive with certainty")

// Token is one lexical token with its byte span in the original text.
type Token struct {
	// Start and End delimit the token's bytes in the source, End exclusive;
	// quotes are inside the span.
	Start, End int
	// Value is the token as the parser sees it (quotes removed, escapes as
	// the parser keeps them).
	Value  string
	Quoted bool
	// Line is the 1-based line on which the token starts.
	Line int
}

// uncertain builds an ErrUncertain with details.
func uncertain(line int, name, format string, args ...any) error {
	return fmt.Errorf("%w: %s at line %d: %s", ErrUncertain, name, line, fmt.Sprintf(format, args...))
}

// parserRune maps bytes to what a parser that decodes runes with
// bufio.ScanRunes sees: an invalid byte becomes U+FFFD, one byte wide.
func parserRune(src []byte, i int) (rune, int) {
	c := src[i]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(src[i:])
}

// LineStarts returns the byte offset where each line starts: LineStarts[0]
// is 0 (line 1). Lines end at '\n'; a CR before it belongs to the line.
func LineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// LineOf returns the 1-based line containing offset off.
func LineOf(starts []int, off int) int {
	lo, hi := 0, len(starts)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if starts[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

// LineBounds returns, for the line containing off, the offset where it
// starts, where its content ends (before "\r\n" or "\n") and where the next
// line starts (after the line ending; len(src) at the end of the file).
func LineBounds(src []byte, off int) (start, contentEnd, next int) {
	start = off
	for start > 0 && src[start-1] != '\n' {
		start--
	}
	next = off
	for next < len(src) && src[next] != '\n' {
		next++
	}
	contentEnd = next
	if next < len(src) {
		next++ // past '\n'
		if contentEnd > start && src[contentEnd-1] == '\r' {
			contentEnd--
		}
	}
	return start, contentEnd, next
}

// LineEnding returns the line ending the file uses: "\r\n" when its first
// line break is CRLF, otherwise "\n".
func LineEnding(src []byte) string {
	for i, c := range src {
		if c == '\n' {
			if i > 0 && src[i-1] == '\r' {
				return "\r\n"
			}
			return "\n"
		}
	}
	return "\n"
}

// Indent returns the leading spaces and tabs of the line that starts at
// offset start.
func Indent(src []byte, start int) string {
	end := start
	for end < len(src) && (src[end] == ' ' || src[end] == '\t') {
		end++
	}
	return string(src[start:end])
}

// equalArgs compares token values with the parser's arguments.
func equalArgs(toks []Token, args []string) bool {
	if len(toks) != len(args) {
		return false
	}
	for i := range toks {
		if toks[i].Value != args[i] {
			return false
		}
	}
	return true
}

func values(toks []Token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Value
	}
	return out
}
