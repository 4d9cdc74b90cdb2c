package nginxfix

import (
	"fmt"
	"slices"
	"sort"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/locate"
)

// protocolDirectives are the only directives a fix may touch.
var protocolDirectives = map[string]bool{
	"ssl_protocols": true, "proxy_ssl_protocols": true, "grpc_ssl_protocols": true, "uwsgi_ssl_protocols": true,
}

// Verify parses every changed file as the plan leaves it (from memory,
// nothing is written) with audit/nginx.ParseDirectives and refuses the plan
// unless
//   - it still parses;
//   - in every changed file, the parser's directives equal the locator's
//     reading of the new bytes (two independent readings agree);
//   - every directive no edit touches is unchanged (name, arguments, block
//     depth, order), and every directive an edit touches, before and after,
//     is a protocol directive that ends in ";", and after the edit names
//     only TLS 1.2 and newer.
//
// Errors are *audit.ConfigError naming the file and line.
func Verify(fsys platform.FS, main string, plan *remediate.Plan) error {
	return verify(plan, nil)
}

// verify is Verify with the original files already lexed (by real path).
func verify(plan *remediate.Plan, lexed map[string]*locate.NginxFile) error {
	for i := range plan.Files {
		fc := &plan.Files[i]
		if len(fc.Edits) == 0 {
			continue
		}
		after, err := fc.After()
		if err != nil {
			return err
		}
		// Parse the edited file on its own: its includes resolve to
		// nothing, so the cost is that file's, not the whole tree's (the
		// edits never touch an include, which the check below enforces).
		parsed, err := nginx.ParseDirectives(fc.Isolated(after), fc.Path)
		if err != nil {
			return fmt.Errorf("nginx: the edited file does not parse, nothing written: %w", err)
		}
		byFile := map[string][]nginx.Directive{}
		for _, d := range parsed {
			byFile[d.File] = append(byFile[d.File], d)
		}
		if err := verifyFile(fc, after, byFile, lexed[fc.RealPath]); err != nil {
			return err
		}
	}
	return nil
}

func verifyFile(fc *remediate.FileChange, after []byte, byFile map[string][]nginx.Directive, bl *locate.NginxFile) error {
	refuse := func(line int, format string, args ...any) error {
		return audit.Errorf(fc.Path, line, "refusing the edit: "+format, args...)
	}
	if bl == nil {
		var err error
		if bl, err = locate.LexNginx(fc.Before); err != nil {
			return refuse(0, "cannot read the original with certainty: %v", err)
		}
	}
	al, err := locate.LexNginx(after)
	if err != nil {
		return refuse(0, "the edited file does not lex: %v", err)
	}
	// The parser's reading of the edited file, under whichever name it
	// was included.
	got, ok := byFile[fc.Path]
	if !ok && fc.RealPath != "" {
		got, ok = byFile[fc.RealPath]
	}
	if !ok {
		return refuse(0, "the edited file is not part of the parsed configuration")
	}
	if len(got) != len(al.Directives) {
		return refuse(0, "the parser sees %d directives in the edited file, the locator %d", len(got), len(al.Directives))
	}
	for j, d := range got {
		m := al.Directives[j]
		if d.Name != m.Name.Value || (d.Name != "if" && !slices.Equal(d.Args, tokenValues(m.Args))) {
			return refuse(d.Line, "parser and locator disagree on the edited file: %s vs %s", d, m.Name.Value)
		}
	}

	edits := append([]remediate.Edit(nil), fc.Edits...)
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].Start < edits[j].Start })
	// New ranges of the edits in the edited bytes.
	type span struct{ s, e int }
	newSpans := make([]span, len(edits))
	delta := 0
	for i, e := range edits {
		newSpans[i] = span{e.Start + delta, e.Start + delta + len(e.New)}
		delta += len(e.New) - (e.End - e.Start)
	}
	touchedBefore := func(d locate.NginxDirective) bool {
		for _, e := range edits {
			if overlaps(d.Name.Start, d.Term.End, e.Start, e.End) {
				return true
			}
		}
		return false
	}
	touchedAfter := func(d locate.NginxDirective) bool {
		for _, s := range newSpans {
			if overlaps(d.Name.Start, d.Term.End, s.s, s.e) {
				return true
			}
		}
		return false
	}
	var keepB, keepA []locate.NginxDirective
	for _, d := range bl.Directives {
		if !touchedBefore(d) {
			keepB = append(keepB, d)
			continue
		}
		if !protocolDirectives[d.Name.Value] || d.Term.Value != ";" {
			return refuse(d.Line(), "an edit touches %s, which is not a protocol directive", d.Name.Value)
		}
	}
	for _, d := range al.Directives {
		if !touchedAfter(d) {
			keepA = append(keepA, d)
			continue
		}
		if !protocolDirectives[d.Name.Value] || d.Term.Value != ";" {
			return refuse(d.Line(), "after the edit, %s is not a protocol directive", d.Name.Value)
		}
		set, err := audit.ParseProtocolSet(joinValues(d.Args))
		if err != nil || set.Empty() || !set.Below(audit.TLS12).Empty() {
			return refuse(d.Line(), "after the edit, %s names %q", d.Name.Value, joinValues(d.Args))
		}
	}
	if len(keepB) != len(keepA) {
		return refuse(0, "the edit changes %d other directive(s)", abs(len(keepB)-len(keepA)))
	}
	for j := range keepB {
		b, a := keepB[j], keepA[j]
		if b.Name.Value != a.Name.Value || b.Depth != a.Depth || b.Term.Value != a.Term.Value || !slices.Equal(tokenValues(b.Args), tokenValues(a.Args)) {
			return refuse(b.Line(), "the edit would change %s", b.Name.Value)
		}
	}
	return nil
}

// overlaps reports whether [s1,e1) and [s2,e2) share a byte, counting an
// empty range (an insertion) strictly inside [s1,e1).
func overlaps(s1, e1, s2, e2 int) bool {
	if s2 == e2 {
		return s1 < s2 && s2 < e1
	}
	return s1 < e2 && s2 < e1
}

func tokenValues(ts []locate.Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Value
	}
	return out
}

func joinValues(ts []locate.Token) string { return remediate.Join(tokenValues(ts)) }

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
