// Package report renders an audit.Report: JSON (the versioned contract) and
// text grouped by component, with colour only when the caller says so. It
// decides nothing; it only prints what the scanners found.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
)

// WriteJSON writes the report as indented JSON with a final newline.
func WriteJSON(w io.Writer, r *audit.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// TextOptions tune the text form.
type TextOptions struct {
	Color bool
}

type painter struct{ on bool }

func (p painter) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) severity(s audit.Severity) string {
	label := strings.ToUpper(s.String())
	switch s {
	case audit.Critical, audit.High:
		return p.wrap("1;31", label)
	case audit.Medium:
		return p.wrap("33", label)
	case audit.Low:
		return p.wrap("36", label)
	}
	return p.wrap("2", label)
}

func loc(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// WriteText writes the human form: one section per component with its
// contexts and findings, then the remediation section and a summary line.
func WriteText(w io.Writer, r *audit.Report, opt TextOptions) error {
	p := painter{on: opt.Color}
	var b strings.Builder
	where := ""
	if h := r.Host; h != nil && h.Name != "" {
		where = " on " + h.Name
		if h.Root != "" && h.Root != "/" {
			where += ", tree " + h.Root
		}
	}
	fmt.Fprintf(&b, "%s %s%s — policy: %s or newer\n", r.Tool.Name, r.Tool.Version, where, r.Policy.Min)

	owner := assignFindings(r)
	for i, c := range r.Components {
		b.WriteString("\n")
		title := string(c.Kind)
		if c.Version != "" {
			title += " " + c.Version
		}
		if c.Path != "" {
			title += " (" + c.Path + ")"
		}
		fmt.Fprintf(&b, "%s  [%s]\n", p.wrap("1", title), componentLabel(r, owner, i))
		if c.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", c.Error)
		}
		for _, n := range c.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
		for _, ctx := range c.Contexts {
			name := ctx.Kind
			if ctx.Name != "" {
				name += " " + ctx.Name
			}
			if len(ctx.Listen) > 0 {
				name += " [" + strings.Join(ctx.Listen, ", ") + "]"
			}
			src := string(ctx.Source)
			if ctx.From != nil && ctx.From.File != "" {
				src += " at " + loc(ctx.From.File, ctx.From.Line)
			}
			fmt.Fprintf(&b, "  %s %s\n      protocols: %s (%s)\n", loc(ctx.File, ctx.Line), name, ctx.Protocols, src)
			if ctx.Note != "" {
				fmt.Fprintf(&b, "      note: %s\n", ctx.Note)
			}
		}
		for j, f := range r.Findings {
			if owner[j] == i {
				writeFinding(&b, p, f)
			}
		}
	}
	// Findings that belong to no listed component (never drop one).
	var orphans bool
	for j, f := range r.Findings {
		if owner[j] >= 0 {
			continue
		}
		if !orphans {
			fmt.Fprintf(&b, "\n%s\n", p.wrap("1", "other findings"))
			orphans = true
		}
		writeFinding(&b, p, f)
	}

	if len(r.Findings) > 0 {
		fmt.Fprintf(&b, "\n%s\n", p.wrap("1", "Remediation"))
		seen := map[string]bool{}
		for _, f := range r.Findings {
			key := string(f.ID) + "\x00" + f.Remediation
			if seen[key] || f.Remediation == "" {
				continue
			}
			seen[key] = true
			fmt.Fprintf(&b, "  %s: %s\n", f.ID, f.Remediation)
		}
	}

	b.WriteString("\n")
	var counts []string
	for _, n := range []string{"critical", "high", "medium", "low", "info"} {
		if c := r.Summary.Counts[n]; c > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", c, n))
		}
	}
	if len(counts) == 0 {
		counts = []string{"no findings"}
	}
	verdict := p.wrap("1;32", "COMPLIANT")
	if !r.Summary.Compliant {
		verdict = p.wrap("1;31", "NON-COMPLIANT")
	}
	fmt.Fprintf(&b, "%s (fail on %s and above): %s\n", verdict, r.Summary.FailOn, strings.Join(counts, ", "))
	_, err := io.WriteString(w, b.String())
	return err
}

// componentLabel sums up a component in its heading: its findings by
// severity ("1 medium, 2 low", "no findings") once it was read, else its
// status (not-found, error). A bare "ok" next to a list of findings read
// as a verdict.
func componentLabel(r *audit.Report, owner []int, i int) string {
	c := r.Components[i]
	if c.Status != audit.StatusOK {
		return string(c.Status)
	}
	counts := map[audit.Severity]int{}
	for j, f := range r.Findings {
		if owner[j] == i {
			counts[f.Severity]++
		}
	}
	var parts []string
	for _, s := range []audit.Severity{audit.Critical, audit.High, audit.Medium, audit.Low, audit.Info} {
		if n := counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "no findings"
	}
	return strings.Join(parts, ", ")
}

// assignFindings decides under which component each finding is printed: the
// component of the same kind whose path is the finding's file, else one of
// that kind with a context in that file, else the first of that kind; -1 when
// no component of that kind was reported.
func assignFindings(r *audit.Report) []int {
	owner := make([]int, len(r.Findings))
	for j, f := range r.Findings {
		owner[j] = -1
		for i, c := range r.Components {
			if c.Kind == f.Component && c.Path == f.File {
				owner[j] = i
				break
			}
		}
		if owner[j] >= 0 {
			continue
		}
	contexts:
		for i, c := range r.Components {
			if c.Kind != f.Component {
				continue
			}
			for _, ctx := range c.Contexts {
				if ctx.File == f.File {
					owner[j] = i
					break contexts
				}
			}
		}
		if owner[j] >= 0 {
			continue
		}
		for i, c := range r.Components {
			if c.Kind == f.Component {
				owner[j] = i
				break
			}
		}
	}
	return owner
}

func writeFinding(b *strings.Builder, p painter, f audit.Finding) {
	where := loc(f.File, f.Line)
	if where != "" {
		where = " " + where
	}
	fmt.Fprintf(b, "  %-8s %s%s\n", p.severity(f.Severity), f.ID, where)
	fmt.Fprintf(b, "           %s\n", f.Message)
	if len(f.Affects) > 0 {
		var names []string
		for _, a := range f.Affects {
			n := loc(a.File, a.Line)
			if a.Name != "" {
				n += " (" + a.Name + ")"
			}
			names = append(names, n)
		}
		const maxShown = 5
		more := ""
		if len(names) > maxShown {
			more = fmt.Sprintf(" and %d more", len(names)-maxShown)
			names = names[:maxShown]
		}
		fmt.Fprintf(b, "           affects: %s%s\n", strings.Join(names, ", "), more)
	}
}
