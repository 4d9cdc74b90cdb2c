package nginxfix

import (
	"fmt"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/locate"
)

// file is one config file being edited, keyed by its real path so that a
// file reached through a symlink and directly is planned once.
type file struct {
	path, real string
	src        []byte
	lex        *locate.NginxFile
	fc         remediate.FileChange
	seen       map[[2]int]bool
	starts     []int
}

// open reads and lexes a file once.
func (p *planner) open(files map[string]*file, order *[]string, path string) (*file, error) {
	real := remediate.RealPath(p.fsys, path)
	if f := files[real]; f != nil {
		return f, nil
	}
	fc, err := remediate.ReadFileChange(p.fsys, path, real)
	if err != nil {
		return nil, err
	}
	lex, err := locate.LexNginx(fc.Before)
	if err != nil {
		return nil, audit.Errorf(path, 0, "cannot read with certainty for editing: %v", err)
	}
	f := &file{path: path, real: real, src: fc.Before, lex: lex, fc: fc, seen: map[[2]int]bool{}}
	files[real] = f
	*order = append(*order, real)
	return f, nil
}

func (f *file) add(e remediate.Edit) {
	k := [2]int{e.Start, e.End}
	if f.seen[k] && e.Start != e.End {
		return
	}
	f.seen[k] = true
	if f.starts == nil {
		f.starts = locate.LineStarts(f.src)
	}
	e.Line = locate.LineOf(f.starts, e.Start)
	f.fc.Edits = append(f.fc.Edits, e)
}

// edits turns the planned actions into byte edits per file.
func (p *planner) edits() ([]remediate.FileChange, error) {
	files := map[string]*file{}
	var order []string
	newArgs := remediate.NginxArgs(p.target)
	for _, k := range p.keys {
		act := p.act[k]
		if act == keep {
			continue
		}
		d := p.a.Directives[p.first[k]]
		f, err := p.open(files, &order, k.file)
		if err != nil {
			return nil, err
		}
		loc, err := f.lex.LocateOrdinal(k.line, k.ordinal, d.Name, d.Args)
		if err != nil {
			return nil, audit.Errorf(k.file, k.line, "%v", err)
		}
		switch act {
		case rewrite:
			for _, e := range rewriteEdits(f.src, loc, newArgs) {
				e.Reason = p.reason[k]
				f.add(e)
			}
		case remove:
			e, err := deleteEdit(f.src, loc)
			if err != nil {
				return nil, audit.Errorf(k.file, k.line, "%v", err)
			}
			kept := p.kept[k]
			e.Reason = fmt.Sprintf("duplicate %s in the same block (nginx combines them); line %d keeps %s", d.Name, kept.line, remediate.Join(newArgs))
			f.add(e)
		}
	}
	for _, in := range p.inserts {
		// Every block of the module gets the line unless it sets the
		// directive itself; there is one http block in a config nginx
		// accepts, but the parser also takes several.
		blocks := 0
		for _, blk := range p.a.TopBlocks {
			if blk.Name != in.module || p.blockSets(blk, in.name) {
				continue
			}
			blocks++
			f, err := p.open(files, &order, blk.File)
			if err != nil {
				return nil, err
			}
			loc, err := f.lex.Locate(blk.Line, in.module, 0, []string{})
			if err != nil || loc.Term.Value != "{" {
				return nil, audit.Errorf(blk.File, blk.Line, "cannot locate the %s block with certainty: %v", in.module, err)
			}
			e := insertEdit(f.src, loc, in.name+" "+remediate.Join(newArgs)+";")
			e.Reason = fmt.Sprintf("add %s %s to the %s block: %s", in.name, remediate.Join(newArgs), in.module, in.reason)
			f.add(e)
		}
		if blocks == 0 {
			return nil, audit.Errorf(p.a.Main, 0, "no %s block to add %s to", in.module, in.name)
		}
	}
	var out []remediate.FileChange
	p.lexed = map[string]*locate.NginxFile{}
	for _, r := range order {
		if f := files[r]; len(f.fc.Edits) > 0 {
			out = append(out, f.fc)
			p.lexed[r] = f.lex
		}
	}
	return out, nil
}

// rewriteEdits replaces a directive's arguments. Without comments between
// them the whole span from the first to the last argument becomes the new
// list (a directive over several lines becomes one line); with comments,
// the first argument becomes the new list and the other arguments are
// removed, so every comment stays. Quoting is kept when all arguments were
// quoted alike.
func rewriteEdits(src []byte, d locate.NginxDirective, args []string) []remediate.Edit {
	if len(d.Args) == 0 {
		return nil
	}
	q := byte(0)
	for i, a := range d.Args {
		c := src[a.Start]
		if !a.Quoted || (c != '"' && c != '\'') || (i > 0 && c != q) {
			q = 0
			break
		}
		q = c
	}
	text := remediate.JoinQuoted(args, q)
	// The new text must not run into what follows: a "#" right after a
	// word is part of the word, not a comment.
	sep := func(end int) string {
		if end < len(src) && !strings.ContainsRune(" \t\r\n;{}", rune(src[end])) {
			return " "
		}
		return ""
	}
	if len(d.Comments) == 0 {
		s, e := d.ArgsSpan()
		if string(src[s:e]) == text {
			return nil
		}
		return []remediate.Edit{{Start: s, End: e, New: text + sep(e)}}
	}
	edits := []remediate.Edit{{Start: d.Args[0].Start, End: d.Args[0].End, New: text + sep(d.Args[0].End)}}
	for _, a := range d.Args[1:] {
		// Remove the blanks before the argument too, unless they are the
		// indentation of its line (what follows keeps its place).
		s := a.Start
		for s > 0 && (src[s-1] == ' ' || src[s-1] == '\t') {
			s--
		}
		if s == 0 || src[s-1] == '\n' {
			s = a.Start
		}
		edits = append(edits, remediate.Edit{Start: s, End: a.End})
	}
	return edits
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

// deleteEdit removes a directive. When it is alone on its lines, the lines
// go too, with their line ending; otherwise only the directive (and the
// blanks before it) goes, and a comment after it on the line stays.
func deleteEdit(src []byte, d locate.NginxDirective) (remediate.Edit, error) {
	if len(d.Comments) > 0 {
		return remediate.Edit{}, fmt.Errorf("%w: %s has comments between its arguments; remove it by hand", locate.ErrUncertain, d.Name.Value)
	}
	ls, _, _ := locate.LineBounds(src, d.Name.Start)
	_, ce, next := locate.LineBounds(src, d.Term.End-1)
	if blank(src[ls:d.Name.Start]) && blank(src[d.Term.End:ce]) {
		return remediate.Edit{Start: ls, End: next}, nil
	}
	s := d.Name.Start
	for s > ls && (src[s-1] == ' ' || src[s-1] == '\t') {
		s--
	}
	e := d.Term.End
	if s == ls { // keep the indentation for what follows on the line
		s = d.Name.Start
		for e < ce && (src[e] == ' ' || src[e] == '\t') {
			e++
		}
	}
	return remediate.Edit{Start: s, End: e}, nil
}

// insertEdit adds text as the first directive of block blk: on a new line
// after the opening line, indented like the next line and ending like the
// opening line; or, when the opening line goes on after "{", right after
// the "{".
func insertEdit(src []byte, blk locate.NginxDirective, text string) remediate.Edit {
	pos := blk.Term.End
	ls, ce, next := locate.LineBounds(src, pos-1)
	rest := strings.TrimLeft(string(src[pos:ce]), " \t")
	if rest != "" && !strings.HasPrefix(rest, "#") {
		return remediate.Edit{Start: pos, End: pos, New: " " + text}
	}
	eol := string(src[ce:next])
	if eol == "" {
		eol = locate.LineEnding(src)
	}
	openerIndent := locate.Indent(src, ls)
	indent := ""
	for off := next; off < len(src); {
		_, lce, lnext := locate.LineBounds(src, off)
		line := strings.TrimLeft(string(src[off:lce]), " \t")
		if line == "" {
			off = lnext
			continue
		}
		indent = locate.Indent(src, off)
		if strings.HasPrefix(line, "}") {
			unit := "    "
			if strings.Contains(openerIndent+indent, "\t") {
				unit = "\t"
			}
			indent = openerIndent + unit
		}
		break
	}
	if next == len(src) && (ce == next) {
		// The opening line is the last line and has no line ending.
		return remediate.Edit{Start: pos, End: pos, New: eol + indent + text}
	}
	return remediate.Edit{Start: next, End: next, New: indent + text + eol}
}

// blockSets reports whether top block blk has its own name directive.
func (p *planner) blockSets(blk nginx.Block, name string) bool {
	for _, d := range p.a.Directives {
		if d.Name == name && d.BlockFile == blk.File && d.BlockLine == blk.Line && len(d.Context) == 1 {
			return true
		}
	}
	return false
}
