package locate

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestApacheLocate(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		line     int
		dir      string
		args     []string
		wantArgs string // src[ArgsSpan]
		wantEnd  string // src[Start:End]
	}{
		{
			name: "plain", src: "<VirtualHost *:443>\n    SSLProtocol all -SSLv3\n</VirtualHost>\n",
			line: 2, dir: "SSLProtocol", args: []string{"all", "-SSLv3"},
			wantArgs: "all -SSLv3", wantEnd: "    SSLProtocol all -SSLv3",
		},
		{
			name: "case-insensitive name, tabs, CRLF", src: "\tsslprotocol\t\tALL -SSLv2 -SSLv3\r\n",
			line: 1, dir: "SSLProtocol", args: []string{"ALL", "-SSLv2", "-SSLv3"},
			wantArgs: "ALL -SSLv2 -SSLv3", wantEnd: "\tsslprotocol\t\tALL -SSLv2 -SSLv3",
		},
		{
			name: "continuation", src: "SSLProtocol all \\\n    -SSLv3 \\\r\n    -TLSv1\nServerName x\n",
			line: 1, dir: "SSLProtocol", args: []string{"all", "-SSLv3", "-TLSv1"},
			wantArgs: "all \\\n    -SSLv3 \\\r\n    -TLSv1", wantEnd: "SSLProtocol all \\\n    -SSLv3 \\\r\n    -TLSv1",
		},
		{
			name: "quoted", src: "SSLProxyProtocol \"all\" '-SSLv3'\n",
			line: 1, dir: "SSLProxyProtocol", args: []string{"all", "-SSLv3"},
			wantArgs: "\"all\" '-SSLv3'", wantEnd: "SSLProxyProtocol \"all\" '-SSLv3'",
		},
		{
			name: "BOM belongs to the first word", src: "\uFEFF# x\nSSLProtocol all\n",
			line: 2, dir: "SSLProtocol", args: []string{"all"},
			wantArgs: "all", wantEnd: "SSLProtocol all",
		},
		{
			name: "latin-1 and unclosed quote on the line before", src: "ServerAdmin \"caf\xe9\nSSLProtocol TLSv1\n",
			line: 2, dir: "SSLProtocol", args: []string{"TLSv1"},
			wantArgs: "TLSv1", wantEnd: "SSLProtocol TLSv1",
		},
		{
			name: "after a continued comment", src: "# note \\\nSSLProtocol TLSv1\nSSLProtocol TLSv1.2\n",
			line: 3, dir: "SSLProtocol", args: []string{"TLSv1.2"},
			wantArgs: "TLSv1.2", wantEnd: "SSLProtocol TLSv1.2",
		},
		{
			name: "trailing blanks kept out of the span", src: "SSLProtocol all   \n",
			line: 1, dir: "SSLProtocol", args: []string{"all"},
			wantArgs: "all", wantEnd: "SSLProtocol all   ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := LexApache([]byte(tt.src))
			l, err := f.Locate(tt.line, tt.dir, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			s, e := l.ArgsSpan()
			if got := tt.src[s:e]; got != tt.wantArgs {
				t.Errorf("args span = %q, want %q", got, tt.wantArgs)
			}
			if got := tt.src[l.Start:l.End]; got != tt.wantEnd {
				t.Errorf("line = %q, want %q", got, tt.wantEnd)
			}
		})
	}
}

func TestApacheLocateRefuses(t *testing.T) {
	f := LexApache([]byte("# SSLProtocol all\nSSLProtocol all -SSLv3\n"))
	for _, tc := range []struct {
		line int
		args []string
	}{
		{1, []string{"all"}},           // a comment, not a directive
		{2, []string{"all"}},           // the parser saw other arguments
		{3, []string{"all", "-SSLv3"}}, // no such line
	} {
		if _, err := f.Locate(tc.line, "SSLProtocol", tc.args); !errors.Is(err, ErrUncertain) {
			t.Errorf("Locate(%d, %q) = %v, want ErrUncertain", tc.line, tc.args, err)
		}
	}
}

// TestApacheCorpusProtocolLines locates every SSLProtocol and
// SSLProxyProtocol line of the real-world corpus by the words grep sees, so
// the lexer is exercised on real layouts (tabs, column alignment, case).
func TestApacheCorpusProtocolLines(t *testing.T) {
	root := platformtest.RequireCorpus(t)
	found := 0
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
			return err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f := LexApache(src)
		for i, line := range strings.Split(string(src), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || (!strings.EqualFold(fields[0], "SSLProtocol") && !strings.EqualFold(fields[0], "SSLProxyProtocol")) {
				continue
			}
			l, err := f.Locate(i+1, fields[0], fields[1:])
			if err != nil {
				t.Errorf("%s:%d: %v", p, i+1, err)
				continue
			}
			s, e := l.ArgsSpan()
			if got := strings.Join(strings.Fields(string(src[s:e])), " "); got != strings.Join(fields[1:], " ") {
				t.Errorf("%s:%d: span %q", p, i+1, got)
			}
			found++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The corpus README counts 34 SSLProtocol and 3 SSLProxyProtocol lines.
	if found < 37 {
		t.Fatalf("located %d protocol lines, want at least 37", found)
	}
}

// FuzzApacheLex checks that every word's span lies on its logical line, in
// order, and that an unquoted word's bytes (without continuations, "\\\\"
// read as "\\") are its value.
func FuzzApacheLex(f *testing.F) {
	f.Add([]byte("SSLProtocol all \\\n -SSLv3\n# c \\\nx\n\"a\\\"b\" 'c\n"))
	f.Add([]byte("\uFEFF<IfModule ssl_module>\r\n\tSSLProtocol -all +TLSv1.2\r\n</IfModule>\r\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		af := LexApache(src)
		prev := 0
		for _, l := range af.Lines {
			if l.Start < prev || l.End < l.Start || l.Next < l.End || l.Next > len(src) {
				t.Fatalf("bad line bounds %+v (prev %d, len %d)", l, prev, len(src))
			}
			prev = l.Next
			last := l.Start
			for _, w := range append([]Token{l.Name}, l.Args...) {
				if l.Comment || l.Name.End == 0 && l.Name.Start == 0 && l.Name.Value == "" {
					break
				}
				if w.Start < last || w.End <= w.Start || w.End > l.End {
					t.Fatalf("word %+v outside line %+v", w, l)
				}
				last = w.End
				raw := string(src[w.Start:w.End])
				if !w.Quoted && !strings.Contains(raw, "\n") && strings.ReplaceAll(raw, `\\`, `\`) != w.Value {
					t.Fatalf("word bytes %q != value %q", raw, w.Value)
				}
			}
		}
		if prev != len(src) {
			t.Fatalf("lines end at %d, file at %d", prev, len(src))
		}
	})
}
