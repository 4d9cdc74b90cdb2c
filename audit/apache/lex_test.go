package apache

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// render shows the tokens that carry meaning: words (value@line, with q for
// quoted and ! for unterminated), comments (#@line) and newlines (NL).
func render(toks []Token, src []byte) string {
	var parts []string
	for _, t := range toks {
		switch t.Kind {
		case Word:
			s := fmt.Sprintf("%s@%d", t.Value, t.Line)
			if t.Quote != 0 {
				s = "q" + s
			}
			if t.Unterminated {
				s += "!"
			}
			parts = append(parts, s)
		case Comment:
			parts = append(parts, fmt.Sprintf("#@%d", t.Line))
		case Newline:
			parts = append(parts, "NL")
		}
	}
	return strings.Join(parts, " ")
}

func TestLex(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"simple", "SSLProtocol all -SSLv3\n", "SSLProtocol@1 all@1 -SSLv3@1 NL"},
		{"no final newline", "A b", "A@1 b@1"},
		{"continuation between words", "SSLProtocol -all \\\n    +TLSv1.2\n", "SSLProtocol@1 -all@1 +TLSv1.2@2 NL"},
		{"continuation joins a word", "Foo ab\\\ncd\n", "Foo@1 abcd@1 NL"},
		{"continuation in a section opener", "<VirtualHost \\\n 1.2.3.4:443 \\\n [::1]:443>\n", "<VirtualHost@1 1.2.3.4:443@2 [::1]:443>@3 NL"},
		{"whitespace-only continued line", "A \\\n \\\n b\n", "A@1 b@3 NL"},
		{"double quotes", `SSLCipherSuite "HIGH:!aNULL MEDIUM" x` + "\n", "SSLCipherSuite@1 qHIGH:!aNULL MEDIUM@1 x@1 NL"},
		{"escapes in quotes", `A "a\"b\\c\d" 'it\'s'` + "\n", `A@1 qa"b\c\d@1 qit's@1 NL`},
		{"backslash outside quotes", `A a\\b c\"d` + "\n", `A@1 a\b@1 c\"d@1 NL`},
		{"quote glued to next word", `A "x"y` + "\n", "A@1 qx@1 y@1 NL"},
		{"quote inside a word", `RewriteRule ^a"b c` + "\n", `RewriteRule@1 ^a"b@1 c@1 NL`},
		{"unterminated quote runs to end of line", `ErrorDocument 404 "Not found` + "\nNext x\n", "ErrorDocument@1 404@1 qNot found@1! NL Next@2 x@2 NL"},
		{"comment line", "  # SSLProtocol all\nA b\n", "#@1 NL A@2 b@2 NL"},
		{"hash after a directive is an argument", "SSLProtocol all # x\n", "SSLProtocol@1 all@1 #@1 x@1 NL"},
		{"comment continuation swallows the next line", "# off \\\nBogus x\nA b\n", "#@1 NL A@3 b@3 NL"},
		{"CRLF", "A b\r\nC d\r\n", "A@1 b@1 NL C@2 d@2 NL"},
		{"CRLF continuation", "A \\\r\n b\r\n", "A@1 b@2 NL"},
		{"doubled final backslash still continues", "A b\\\\\nC\n", `A@1 b\C@1 NL`},
		{"blank lines", "\n  \n\t\n", "NL NL NL"},
		{"continuation at EOF", "A \\\n", "A@1"},
		{"closing tags on one line", "</VirtualHost> </IfModule>\n", "</VirtualHost>@1 </IfModule>@1 NL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := Lex([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			checkSpans(t, []byte(tt.src), toks)
			if got := render(toks, []byte(tt.src)); got != tt.want {
				t.Errorf("tokens\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLexBinary(t *testing.T) {
	for _, src := range []string{"A b\nC \x00d\n", "\x01\x02\x03", "ok\n\x7fELF\x02\x01\x01\x00"} {
		_, err := Lex([]byte(src))
		if err == nil {
			t.Errorf("Lex(%q): no error", src)
			continue
		}
		if !strings.Contains(err.Error(), "binary data") {
			t.Errorf("Lex(%q) = %v, want a binary-data error", src, err)
		}
	}
	// Non-UTF-8 text (Latin-1, EUC-KR comments) is fine.
	if _, err := Lex([]byte("# \xb0\xa1\nServerName caf\xe9\n")); err != nil {
		t.Errorf("non-UTF-8 text: %v", err)
	}
}

// checkSpans asserts the lexer contract: tokens are non-empty, contiguous,
// cover src exactly, and Line is the physical line of Start.
func checkSpans(t testing.TB, src []byte, toks []Token) {
	t.Helper()
	pos := 0
	var buf bytes.Buffer
	for i, tok := range toks {
		if tok.Start != pos || tok.End <= tok.Start || tok.End > len(src) {
			t.Fatalf("token %d %+v: span not contiguous at %d (len %d)", i, tok, pos, len(src))
		}
		if want := 1 + bytes.Count(src[:tok.Start], []byte{'\n'}); tok.Line != want {
			t.Fatalf("token %d %+v: line %d, want %d", i, tok, tok.Line, want)
		}
		if tok.Kind == Newline && string(src[tok.Start:tok.End]) != "\n" && string(src[tok.Start:tok.End]) != "\r\n" {
			t.Fatalf("token %d: newline token %q", i, src[tok.Start:tok.End])
		}
		if tok.Kind == Word && tok.Quote == 0 && !strings.Contains(string(src[tok.Start:tok.End]), "\\") && tok.Value != string(src[tok.Start:tok.End]) {
			t.Fatalf("token %d: plain word %q has value %q", i, src[tok.Start:tok.End], tok.Value)
		}
		buf.Write(src[tok.Start:tok.End])
		pos = tok.End
	}
	if !bytes.Equal(buf.Bytes(), src) {
		t.Fatalf("tokens do not reproduce the source:\n got %q\nwant %q", buf.Bytes(), src)
	}
}

// corpusSeeds returns a few real Apache files from the shared corpus (read
// from disk; absent corpus means no seeds).
func corpusSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, rel := range []string{
		"certbot-apache-conf-files/passing/section-continuations-2525.conf",
		"certbot-apache-conf-files/passing/comment-continuations-2050.conf",
		"certbot-apache-conf-files/passing/missing-quote-1724.conf",
		"certbot-apache-conf-files/passing/escaped-space-arguments-2735.conf",
		"certbot-apache-conf-files/passing/two-blocks-one-line-1693.conf",
		"certbot-apache-conf-files/passing/modmacro-1385.conf",
		"certbot-apache-testdata/complex_parsing/apache2.conf",
		"h5bp-server-configs-apache/h5bp/tls/policy_strict.conf",
		"apache-httpd-docs-conf/extra/httpd-ssl.conf.in",
	} {
		b, err := os.ReadFile(filepath.Join(corpusDir, rel))
		if err == nil {
			out = append(out, b)
		}
	}
	return out
}

// corpusDir is the shared config corpus (see platformtest.CorpusDir).
var corpusDir = platformtest.CorpusDir()

func FuzzLex(f *testing.F) {
	for _, s := range []string{"A b\n", "A \\\nb\n", "# c \\\nd\n", "A \"b\\\" c\n", "A 'b\r\n", "x\\\\\n", "\\", "\"", "A b\\\r\n"} {
		f.Add([]byte(s))
	}
	for _, b := range corpusSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		toks, err := Lex(src)
		if err != nil {
			if !strings.Contains(err.Error(), "binary data") {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		checkSpans(t, src, toks)
	})
}
