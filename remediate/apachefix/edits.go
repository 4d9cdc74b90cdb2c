package apachefix

import (
	"fmt"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/locate"
)

type file struct {
	path, real string
	src        []byte
	lex        *locate.ApacheFile
	fc         remediate.FileChange
	starts     []int
}

func (p *planner) open(files map[string]*file, order *[]string, name string) (*file, error) {
	real := remediate.RealPath(p.fsys, name)
	if f := files[real]; f != nil {
		return f, nil
	}
	fc, err := remediate.ReadFileChange(p.fsys, name, real)
	if err != nil {
		return nil, err
	}
	f := &file{path: name, real: real, src: fc.Before, lex: locate.LexApache(fc.Before), fc: fc}
	files[real] = f
	*order = append(*order, real)
	return f, nil
}

func (f *file) add(e remediate.Edit) {
	if f.starts == nil {
		f.starts = locate.LineStarts(f.src)
	}
	e.Line = locate.LineOf(f.starts, e.Start)
	f.fc.Edits = append(f.fc.Edits, e)
}

func (p *planner) edits() ([]remediate.FileChange, error) {
	files := map[string]*file{}
	var order []string
	args := remediate.ApacheArgs(p.target)
	for _, k := range p.order {
		why, ok := p.rewrite[k]
		if !ok {
			continue
		}
		d := p.dirs[k]
		f, err := p.open(files, &order, k.file)
		if err != nil {
			return nil, err
		}
		l, err := f.lex.Locate(k.line, d.Name, d.RawArgs)
		if err != nil {
			return nil, audit.Errorf(k.file, k.line, "%v", err)
		}
		if e, ok := rewriteEdit(f.src, l, args); ok {
			e.Reason = why
			f.add(e)
		}
	}
	if len(p.inserts) > 0 {
		sw := p.a.ServerWide
		file := sw.File
		if file == "" || sw.Kind != apache.InsertInSection {
			file = p.a.Main
		}
		f, err := p.open(files, &order, file)
		if err != nil {
			return nil, err
		}
		var texts, reasons []string
		for _, in := range p.inserts {
			texts = append(texts, in.name+" "+remediate.Join(args))
			reasons = append(reasons, in.reason)
		}
		var e remediate.Edit
		if sw.Kind == apache.InsertInSection {
			l, ok := f.lex.LineAt(sw.Line)
			if !ok || !strings.EqualFold(l.Name.Value, "<IfModule") {
				return nil, audit.Errorf(file, sw.Line, "cannot locate the <IfModule> section with certainty")
			}
			e = insertInSection(f.src, f.lex, l, texts)
		} else {
			e = appendSection(f.src, texts)
		}
		e.Reason = fmt.Sprintf("add server-wide %s: %s", strings.Join(texts, "; "), strings.Join(reasons, "; "))
		f.add(e)
	}
	var out []remediate.FileChange
	p.lexed = map[string]*locate.ApacheFile{}
	for _, r := range order {
		if f := files[r]; len(f.fc.Edits) > 0 {
			out = append(out, f.fc)
			p.lexed[r] = f.lex
		}
	}
	return out, nil
}

// rewriteEdit replaces the arguments of a logical line (all its physical
// lines, for a continued one); quoting is kept when every argument was
// quoted alike.
func rewriteEdit(src []byte, l locate.ApacheLine, args []string) (remediate.Edit, bool) {
	q := byte(0)
	for i, a := range l.Args {
		c := src[a.Start]
		if !a.Quoted || (i > 0 && c != q) {
			q = 0
			break
		}
		q = c
	}
	text := remediate.JoinQuoted(args, q)
	s, e := l.ArgsSpan()
	if len(l.Args) == 0 {
		text = " " + text
	}
	if string(src[s:e]) == text {
		return remediate.Edit{}, false
	}
	// After a closing quote httpd starts the next word at once; keep the
	// new words apart from whatever followed.
	if e < l.End && !isBlank(src[e]) {
		text += " "
	}
	return remediate.Edit{Start: s, End: e, New: text}, true
}

// insertInSection adds lines right after the opening line of section l,
// indented like the next non-blank line (one level deeper than the section
// when the section is empty), ending like the opening line.
func insertInSection(src []byte, af *locate.ApacheFile, l locate.ApacheLine, texts []string) remediate.Edit {
	eol := string(src[l.End:l.Next])
	if eol == "" {
		eol = locate.LineEnding(src)
	}
	openIndent := locate.Indent(src, l.Start)
	indent := openIndent + "    "
	if strings.Contains(openIndent, "\t") {
		indent = openIndent + "\t"
	}
	for _, n := range af.Lines {
		if n.Start < l.Next || (n.Name.Value == "" && !n.Comment) {
			continue
		}
		if !strings.HasPrefix(n.Name.Value, "</") {
			indent = locate.Indent(src, n.Start)
		}
		break
	}
	var b strings.Builder
	for _, text := range texts {
		b.WriteString(indent + text + eol)
	}
	if l.Next == l.End { // the section opens on the last line, without a line ending
		return remediate.Edit{Start: l.End, End: l.End, New: eol + strings.TrimSuffix(b.String(), eol)}
	}
	return remediate.Edit{Start: l.Next, End: l.Next, New: b.String()}
}

// appendSection adds <IfModule ssl_module> with the directives at the end
// of the file, so that httpd without mod_ssl still starts.
func appendSection(src []byte, texts []string) remediate.Edit {
	eol := locate.LineEnding(src)
	var b strings.Builder
	if len(src) > 0 && src[len(src)-1] != '\n' {
		b.WriteString(eol)
	}
	b.WriteString("<IfModule ssl_module>" + eol)
	for _, text := range texts {
		b.WriteString("    " + text + eol)
	}
	b.WriteString("</IfModule>" + eol)
	return remediate.Edit{Start: len(src), End: len(src), New: b.String()}
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}
