package apachefix

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/locate"
)

// Verify parses every changed file as the plan leaves it (from memory;
// nothing is written) with audit/apache's parser and refuses the plan
// unless
//   - it still parses;
//   - in every changed file, the parser's directives (name and arguments as
//     written) equal the locator's reading of the new bytes;
//   - every line no edit touches is unchanged (directives and section tags,
//     in order), and every touched line is SSLProtocol or SSLProxyProtocol
//     (or the <IfModule ssl_module> ... </IfModule> added around one) and
//     names only TLS 1.2 and newer.
func Verify(fsys platform.FS, a *apache.Analysis, plan *remediate.Plan) error {
	return verify(a, plan, nil)
}

// verify is Verify with the original files already lexed (by real path).
func verify(a *apache.Analysis, plan *remediate.Plan, lexed map[string]*locate.ApacheFile) error {
	for i := range plan.Files {
		fc := &plan.Files[i]
		if len(fc.Edits) == 0 {
			continue
		}
		after, err := fc.After()
		if err != nil {
			return err
		}
		// Parse the edited file on its own (includes resolve to empty
		// files): the cost is that file's, not the whole tree's.
		cfg, err := apache.Parse(fc.Isolated(after), fc.Path, a.ParseOptions)
		if err != nil {
			return fmt.Errorf("apache: the edited file does not parse, nothing written: %w", err)
		}
		byFile := map[string][]apache.Directive{}
		for _, d := range cfg.Directives {
			byFile[d.File] = append(byFile[d.File], d)
		}
		if err := verifyFile(fc, after, byFile, lexed[fc.RealPath]); err != nil {
			return err
		}
	}
	return nil
}

// lines are a file's directive and section lines (no comments or blanks).
func lines(af *locate.ApacheFile) []locate.ApacheLine {
	var out []locate.ApacheLine
	for _, l := range af.Lines {
		if !l.Comment && l.Name.Value != "" {
			out = append(out, l)
		}
	}
	return out
}

func isSection(l locate.ApacheLine) bool { return strings.HasPrefix(l.Name.Value, "<") }

func values(ts []locate.Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Value
	}
	return out
}

func verifyFile(fc *remediate.FileChange, after []byte, byFile map[string][]apache.Directive, bf *locate.ApacheFile) error {
	refuse := func(line int, format string, args ...any) error {
		return audit.Errorf(fc.Path, line, "refusing the edit: "+format, args...)
	}
	if bf == nil {
		bf = locate.LexApache(fc.Before)
	}
	before := lines(bf)
	afterLines := lines(locate.LexApache(after))

	got, ok := byFile[fc.Path]
	if !ok && fc.RealPath != "" {
		got, ok = byFile[fc.RealPath]
	}
	if !ok {
		return refuse(0, "the edited file is not part of the parsed configuration")
	}
	var mine []locate.ApacheLine
	for _, l := range afterLines {
		if !isSection(l) {
			mine = append(mine, l)
		}
	}
	if len(got) != len(mine) {
		return refuse(0, "the parser sees %d directives in the edited file, the locator %d", len(got), len(mine))
	}
	for j, d := range got {
		if d.Name != mine[j].Name.Value || !slices.Equal(d.RawArgs, values(mine[j].Args)) {
			return refuse(d.Line, "parser and locator disagree on the edited file: %s %q vs %s %q", d.Name, d.RawArgs, mine[j].Name.Value, values(mine[j].Args))
		}
	}

	edits := append([]remediate.Edit(nil), fc.Edits...)
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].Start < edits[j].Start })
	type span struct{ s, e int }
	newSpans := make([]span, len(edits))
	delta := 0
	for i, e := range edits {
		newSpans[i] = span{e.Start + delta, e.Start + delta + len(e.New)}
		delta += len(e.New) - (e.End - e.Start)
	}
	touches := func(l locate.ApacheLine, s, e int) bool {
		if s == e {
			return l.Start < s && s < l.End
		}
		return l.Start < e && s < l.End
	}
	var keepB, keepA []locate.ApacheLine
	for _, l := range before {
		hit := false
		for _, e := range edits {
			hit = hit || touches(l, e.Start, e.End)
		}
		if !hit {
			keepB = append(keepB, l)
		} else if !protocolLine(l) {
			return refuse(l.Line, "an edit touches %s, which is not a protocol directive", l.Name.Value)
		}
	}
	for _, l := range afterLines {
		hit := false
		for _, s := range newSpans {
			hit = hit || touches(l, s.s, s.e)
		}
		if !hit {
			keepA = append(keepA, l)
			continue
		}
		if isSection(l) {
			if !strings.EqualFold(l.Name.Value, "<IfModule") && !strings.EqualFold(l.Name.Value, "</IfModule>") {
				return refuse(l.Line, "after the edit, %s is not a protocol directive", l.Name.Value)
			}
			continue
		}
		if !protocolLine(l) {
			return refuse(l.Line, "after the edit, %s is not a protocol directive", l.Name.Value)
		}
		if !compliant(values(l.Args)) {
			return refuse(l.Line, "after the edit, %s names %q", l.Name.Value, strings.Join(values(l.Args), " "))
		}
	}
	if len(keepB) != len(keepA) {
		return refuse(0, "the edit changes other lines (%d before, %d after)", len(keepB), len(keepA))
	}
	for j := range keepB {
		b, a := keepB[j], keepA[j]
		if b.Name.Value != a.Name.Value || !slices.Equal(values(b.Args), values(a.Args)) {
			return refuse(b.Line, "the edit would change %s", b.Name.Value)
		}
	}
	return nil
}

func protocolLine(l locate.ApacheLine) bool {
	return strings.EqualFold(l.Name.Value, "SSLProtocol") || strings.EqualFold(l.Name.Value, "SSLProxyProtocol")
}

// compliant accepts what a fix writes: "-all" then "+TLSv1.2"/"+TLSv1.3".
func compliant(args []string) bool {
	if len(args) < 2 || !strings.EqualFold(args[0], "-all") {
		return false
	}
	for _, a := range args[1:] {
		p, ok := audit.ParseProtocol(strings.TrimPrefix(a, "+"))
		if !strings.HasPrefix(a, "+") || !ok || p < audit.TLS12 {
			return false
		}
	}
	return true
}
