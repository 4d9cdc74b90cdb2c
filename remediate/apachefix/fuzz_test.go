package apachefix

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/locate"
)

// parseAlone parses src as /x.conf on its own with audit/apache's parser.
func parseAlone(src []byte) ([]apache.Directive, bool) {
	cfg, err := apache.Parse(remediate.IsolatedFS{Names: []string{"/x.conf"}, Data: src}, "/x.conf", apache.ParseOptions{ServerRoot: "/"})
	if err != nil {
		return nil, false
	}
	return cfg.Directives, true
}

// checkLocate locates every directive the parser reports; strict demands
// success, otherwise a refusal is fine but a located line must carry the
// parser's name and words, and its argument span must hold exactly those
// words.
func checkLocate(t *testing.T, src []byte, strict bool) int {
	t.Helper()
	ds, ok := parseAlone(src)
	if !ok {
		return 0
	}
	af := locate.LexApache(src)
	n := 0
	for _, d := range ds {
		l, err := af.Locate(d.Line, d.Name, d.RawArgs)
		if err != nil {
			if strict {
				t.Fatalf("line %d %s %q: %v\n%q", d.Line, d.Name, d.RawArgs, err, src)
			}
			continue
		}
		n++
		if l.Line != d.Line || l.EndLine != d.EndLine {
			t.Fatalf("%s: lines %d-%d, parser %d-%d\n%q", d.Name, l.Line, l.EndLine, d.Line, d.EndLine, src)
		}
		s, e := l.ArgsSpan()
		if len(d.RawArgs) > 0 && (s < l.Start || e > l.End) {
			t.Fatalf("%s: span [%d,%d) outside the line [%d,%d)", d.Name, s, e, l.Start, l.End)
		}
		// The words re-read from the span alone are the parser's words
		// (a continuation inside the span is joined the same way).
		sub := locate.LexApache(append([]byte("X "), src[s:e]...))
		if len(sub.Lines) > 0 && len(d.RawArgs) > 0 && !slices.Equal(words(sub.Lines[0].Args), d.RawArgs) {
			t.Fatalf("%s: span %q reads %q, parser %q", d.Name, src[s:e], words(sub.Lines[0].Args), d.RawArgs)
		}
	}
	return n
}

func words(ts []locate.Token) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.Value)
	}
	return out
}

// TestApacheCorpusLocatorAgreesWithParser locates every directive of every
// file in the corpus that audit/apache parses on its own.
func TestApacheCorpusLocatorAgreesWithParser(t *testing.T) {
	root := platformtest.RequireCorpus(t)
	total := 0
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || de.Type()&fs.ModeSymlink != 0 {
			return err
		}
		if !strings.Contains(p, "apache") && !strings.Contains(p, "httpd") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		total += checkLocate(t, src, true)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total < 2000 {
		t.Fatalf("only %d directives located; corpus incomplete?", total)
	}
	t.Logf("%d directives located", total)
}

func FuzzApacheLocate(f *testing.F) {
	f.Add([]byte("SSLProtocol all \\\n  -SSLv3\n<VirtualHost *:443>\n\tSSLProtocol \"all\" '-TLSv1'\n</VirtualHost>\n"))
	f.Add([]byte("# c \\\nSSLProtocol x\r\nDefine A \"b c\"\nSSLProtocol ${A} \"unterminated\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return
		}
		checkLocate(t, src, false)
	})
}
