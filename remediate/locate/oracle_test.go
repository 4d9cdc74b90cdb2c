package locate

// These tests use nginx-go-crossplane as an oracle: the locator must agree
// with the parser the audit uses on every directive of every real-world file,
// and an edit at a located span must change exactly that directive when the
// edited bytes are parsed again. Only tests import crossplane here; the
// production code depends on nothing.

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	crossplane "github.com/nginxinc/nginx-go-crossplane"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// parseOne parses src as a single nginx file with crossplane, the way
// audit/nginx does (comments off, no StopParsingOnError, context checks off,
// the Lua lexer on).
func parseOne(src []byte) (_ crossplane.Directives, ok bool) {
	// crossplane v0.4.89 panics in prepareIfArgs on some if(...) forms when
	// argument checks are off; such input simply has no oracle.
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	p, err := crossplane.Parse("/x.conf", &crossplane.ParseOptions{
		SingleFile:                true,
		SkipDirectiveContextCheck: true,
		LexOptions: crossplane.LexOptions{
			Lexers: []crossplane.RegisterLexer{(&crossplane.Lua{}).RegisterLexer()},
		},
		Open: func(string) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(src)), nil
		},
		Glob: func(string) ([]string, error) { return nil, nil },
	})
	if err != nil || len(p.Errors) > 0 || len(p.Config) != 1 {
		return nil, false
	}
	return p.Config[0].Parsed, true
}

type flatDir struct {
	name    string
	line    int
	args    []string
	k       int // among directives of the same name on the line
	ordinal int // among all directives on the line (audit/nginx's Ordinal)
}

// flatten lists directives in document order, with k = the index among
// directives of the same name on the same line.
func flatten(ds crossplane.Directives) []flatDir {
	var out []flatDir
	count := map[[2]any]int{}
	perLine := map[int]int{}
	var walk func(crossplane.Directives)
	walk = func(ds crossplane.Directives) {
		for _, d := range ds {
			key := [2]any{d.Directive, d.Line}
			out = append(out, flatDir{d.Directive, d.Line, d.Args, count[key], perLine[d.Line]})
			count[key]++
			perLine[d.Line]++
			walk(d.Block)
		}
	}
	walk(ds)
	return out
}

// checkAgainstOracle locates every directive crossplane found; for up to
// maxEdits directives it also replaces the argument span and checks that a
// re-parse changes only that directive. Unless strict, the locator may
// refuse (an error) but never return a wrong span.
func checkAgainstOracle(t *testing.T, src []byte, maxEdits int, strict bool) int {
	t.Helper()
	ds, ok := parseOne(src)
	if !ok {
		return 0
	}
	f, err := LexNginx(src)
	if err != nil && !strict {
		return 0
	}
	if err != nil {
		t.Fatalf("crossplane parses the file but LexNginx fails: %v\n%q", err, src)
	}
	flat := flatten(ds)
	for i, fd := range flat {
		if fd.name == "if" {
			continue // crossplane strips the parentheses from if's arguments
		}
		d, err := f.Locate(fd.line, fd.name, fd.k, fd.args)
		if err == nil {
			d2, err2 := f.LocateOrdinal(fd.line, fd.ordinal, fd.name, fd.args)
			if err2 != nil || d2.Name != d.Name {
				t.Fatalf("directive %d: Locate and LocateOrdinal disagree: %v", i, err2)
			}
		}
		if err != nil && !strict {
			continue
		}
		if err != nil {
			t.Fatalf("directive %d: %v\n%q", i, err, src)
		}
		if i >= maxEdits || len(fd.args) == 0 || luaDirectives[fd.name] {
			continue
		}
		s, e := d.ArgsSpan()
		// First a marker per argument; where the parser's argument checks
		// reject markers (flags, counts), the same values re-quoted.
		markers := make([]string, len(fd.args))
		quoted := make([]string, len(fd.args))
		for j, a := range fd.args {
			markers[j] = fmt.Sprintf("R%d", j)
			quoted[j] = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
		var (
			flat2  []flatDir
			want   []string
			edited []byte
		)
		for _, repl := range [][]string{markers, quoted} {
			edited = slices.Concat(src[:s], []byte(strings.Join(repl, " ")), src[e:])
			if ds2, ok := parseOne(edited); ok {
				flat2 = flatten(ds2)
				want = markers
				if &repl[0] == &quoted[0] {
					want = fd.args
				}
				break
			}
		}
		if flat2 == nil {
			if len(d.Comments) > 0 || strings.ContainsAny(strings.Join(fd.args, ""), "\\\"'") {
				continue // a comment swallows the rest of its line; escapes do not survive re-quoting
			}
			t.Fatalf("directive %d (%s line %d): edit at [%d,%d) breaks the parse\n%q", i, fd.name, fd.line, s, e, edited)
		}
		if len(flat2) != len(flat) {
			t.Fatalf("directive %d: edit changed the directive count %d -> %d\n%q", i, len(flat), len(flat2), edited)
		}
		for j := range flat {
			w := flat[j].args
			if j == i {
				w = want
			}
			if flat2[j].name != flat[j].name || !slices.Equal(flat2[j].args, w) {
				t.Fatalf("directive %d: edit changed directive %d: %s %q -> %s %q\n%q", i, j, flat[j].name, flat[j].args, flat2[j].name, flat2[j].args, edited)
			}
		}
	}
	return len(flat)
}

func TestNginxCorpusAgreesWithCrossplane(t *testing.T) {
	root := platformtest.RequireCorpus(t)
	files, dirs := 0, 0
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || de.Type()&fs.ModeSymlink != 0 {
			return err
		}
		base := de.Name()
		if base == "LICENSE" || base == "NOTICE" || base == "SOURCE.txt" || strings.HasSuffix(base, ".md") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if n := checkAgainstOracle(t, src, 40, true); n > 0 {
			files++
			dirs += n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The corpus has hundreds of nginx files; a silent zero would mean the
	// test checked nothing.
	if files < 200 || dirs < 5000 {
		t.Fatalf("only %d files / %d directives parsed; corpus incomplete?", files, dirs)
	}
	t.Logf("%d files, %d directives located", files, dirs)
}

func FuzzLocate(f *testing.F) {
	for _, s := range []string{
		"http {\n    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n}\n",
		"ssl_protocols TLSv1; ssl_protocols TLSv1.1; # c\n",
		"server {\r\n\tssl_protocols\r\n\t\t\"TLSv1\"\r\n\t\tTLSv1.2;\r\n}\r\n",
		"log_format x 'a\nb;\nc' \"d\\\"e\";\nset $a ${b}c; add_header X a\\#b;\n",
		"server_name \"caf\xe9\"; ssl_protocols TLSv1 # x\n TLSv1.2;\n",
		"location ~ \\.php$ { return 200 \"{;}\"; }\n",
		"http { \"rewrite_by_lua_block\" { x = \"}\" }\n set_by_lua_block $a { return 1 } ssl_protocols TLSv1; }\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4096 {
			return
		}
		checkAgainstOracle(t, src, 8, false)
	})
}
