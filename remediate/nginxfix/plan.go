// Package nginxfix plans the fix for an nginx configuration: which
// protocol directives to rewrite, delete or insert, as minimal byte edits
// located in the original bytes (remediate/locate), checked by parsing the
// edited configuration again with audit/nginx's parser. It writes nothing;
// remediate/txn applies the plan. It imports audit, remediate and platform,
// never cmd.
package nginxfix

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/locate"
)

// Options tune the plan.
type Options struct {
	Policy remediate.Policy
	// DiskPath maps a host path to the path on this machine's disk, for
	// the config test's argv under --root; nil means identity.
	DiskPath func(host string) string
}

// Analyze runs the nginx audit and plans its fix.
func Analyze(ctx context.Context, env *audit.Env, opt Options) (*nginx.Analysis, *remediate.Plan, error) {
	a, err := nginx.Analyze(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	p, err := Plan(a, env.FS, opt)
	return a, p, err
}

// dirKey identifies one protocol directive in a file, independent of the
// include site it was reached through.
type dirKey struct {
	file    string
	line    int
	ordinal int
}

type action uint8

const (
	keep action = iota
	rewrite
	remove
)

// planner holds the state of one planning run.
type planner struct {
	a      *nginx.Analysis
	fsys   platform.FS
	opt    Options
	target audit.ProtocolSet
	min    audit.Protocol

	keys    []dirKey          // unique directives, walk order
	first   map[dirKey]int    // key -> first index in a.Directives
	act     map[dirKey]action // planned action
	reason  map[dirKey]string
	kept    map[dirKey]dirKey // deleted duplicate -> the line that stays
	inserts []insert          // new directives in top blocks
	notes   []string

	// lexed are the original files as edits() read them, by real path.
	lexed map[string]*locate.NginxFile
	// levels caches levelAt by location.
	levels map[audit.Location][]dirKey
}

type insert struct {
	module string // http, stream, mail
	name   string // ssl_protocols, proxy_ssl_protocols, ...
	reason string
}

// Plan turns an nginx analysis into a plan. An empty plan (no file edits)
// means nothing to change. Errors are *audit.ConfigError when a file
// cannot be edited with certainty.
func Plan(a *nginx.Analysis, fsys platform.FS, opt Options) (*remediate.Plan, error) {
	plan := &remediate.Plan{}
	if a == nil || !a.Found || a.Main == "" {
		return plan, nil
	}
	p := &planner{
		a: a, fsys: fsys, opt: opt,
		first: map[dirKey]int{}, act: map[dirKey]action{}, reason: map[dirKey]string{}, kept: map[dirKey]dirKey{},
	}
	p.min = opt.Policy.Min
	if p.min < audit.TLS12 {
		p.min = audit.TLS12
	}
	target, note, err := opt.Policy.Target(support(a))
	if err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	p.target = target
	for i, d := range a.Directives {
		k := dirKey{d.File, d.Line, d.Ordinal}
		if _, ok := p.first[k]; !ok {
			p.first[k] = i
			p.keys = append(p.keys, k)
		}
	}
	p.planDirectives()
	p.planDefaults()
	p.harmonise()
	files, err := p.edits()
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return plan, nil
	}
	if note != "" {
		p.notes = append([]string{note}, p.notes...)
	}
	plan.Files = files
	plan.Notes = p.notes
	plan.Servers = []remediate.Server{p.server()}
	if err := verify(plan, p.lexed); err != nil {
		return nil, err
	}
	return plan, nil
}

// support decides whether this nginx can do TLS 1.3: nginx 1.13.0 added
// the TLSv1.3 token (older versions reject the config). An unknown library
// does not block it: nginx accepts the token with any OpenSSL and simply
// cannot offer TLS 1.3 with one older than 1.1.1.
func support(a *nginx.Analysis) remediate.Support {
	switch {
	case a.VersionAssumed || !a.Version.Known():
		return remediate.Support{Why: "the nginx version is unknown (use --nginx-version or --nginx-bin)"}
	case !a.Version.AtLeast("1.13.0"):
		return remediate.Support{Why: fmt.Sprintf("nginx %s is older than 1.13.0 and rejects TLSv1.3", a.Version)}
	case a.Library.Known() && !a.Library.SupportsTLS13():
		return remediate.Support{Why: fmt.Sprintf("nginx runs with %s, which cannot do TLS 1.3", a.Library)}
	}
	return remediate.Support{TLS13: true}
}

func hasRule(ids []audit.RuleID, want ...audit.RuleID) bool {
	for _, id := range ids {
		for _, w := range want {
			if id == w {
				return true
			}
		}
	}
	return false
}

// needs reports whether directive i must be rewritten: the audit flagged it,
// or it names a protocol below the floor.
func (p *planner) needs(i int) bool {
	d := p.a.Directives[i]
	return hasRule(d.Findings, audit.RuleLegacyEnabled, audit.RuleDirectiveNoEffect) || !d.Protocols.Below(p.min).Empty()
}

// planDirectives marks directives to rewrite, and duplicates in one block
// (nginx ORs them) to delete.
func (p *planner) planDirectives() {
	type group struct {
		members []int // indexes into a.Directives, walk order
		need    bool
	}
	groups := map[string]*group{}
	var order []string
	for i, d := range p.a.Directives {
		g := fmt.Sprintf("%s\x00%s\x00%d\x00%s", d.Name, d.BlockFile, d.BlockLine, strings.Join(d.Context, "/"))
		if groups[g] == nil {
			groups[g] = &group{}
			order = append(order, g)
		}
		groups[g].members = append(groups[g].members, i)
		if p.needs(i) {
			groups[g].need = true
		}
	}
	for _, gk := range order {
		g := groups[gk]
		if !g.need {
			continue
		}
		firstIdx := g.members[0]
		fk := p.key(firstIdx)
		p.setRewrite(fk, p.rewriteReason(firstIdx))
		p.noteCompliant(firstIdx)
		seen := map[dirKey]bool{fk: true}
		for _, i := range g.members[1:] {
			k := p.key(i)
			if seen[k] {
				continue
			}
			seen[k] = true
			// Delete a duplicate only in the same file: a line in another
			// file may be an included snippet other blocks rely on.
			if k.file == fk.file && p.act[k] != rewrite {
				p.act[k] = remove
				p.kept[k] = fk
				continue
			}
			p.setRewrite(k, p.rewriteReason(i))
			p.noteCompliant(i)
		}
	}
}

// noteCompliant says why a directive that allows nothing below the floor
// is rewritten: another server decides its address (directive-no-effect),
// and all servers there must end with the same protocols.
func (p *planner) noteCompliant(i int) {
	d := p.a.Directives[i]
	if !d.Protocols.Below(p.min).Empty() || !hasRule(d.Findings, audit.RuleDirectiveNoEffect) {
		return
	}
	p.notes = append(p.notes, fmt.Sprintf("%s:%d: %s %s is compliant but changed to %s so that every server on its address has the same protocols (the default server decides for all of them)",
		d.File, d.Line, d.Name, strings.Join(d.Args, " "), remediate.Join(remediate.NginxArgs(p.target))))
}

func (p *planner) key(i int) dirKey {
	d := p.a.Directives[i]
	return dirKey{d.File, d.Line, d.Ordinal}
}

// setRewrite marks k for rewriting; a rewrite wins over a deletion planned
// through another include site.
func (p *planner) setRewrite(k dirKey, why string) {
	if p.act[k] == rewrite {
		return
	}
	p.act[k] = rewrite
	delete(p.kept, k)
	if p.reason[k] == "" {
		p.reason[k] = why
	}
}

func (p *planner) rewriteReason(i int) string {
	d := p.a.Directives[i]
	var ids []string
	for _, id := range d.Findings {
		if id == audit.RuleLegacyEnabled || id == audit.RuleDirectiveNoEffect {
			ids = append(ids, string(id))
		}
	}
	if len(ids) == 0 {
		ids = []string{"below " + p.min.String()}
	}
	return fmt.Sprintf("%s %s -> %s (%s)", d.Name, strings.Join(d.Args, " "), remediate.Join(remediate.NginxArgs(p.target)), strings.Join(ids, ", "))
}

// planDefaults inserts one explicit directive in the http, stream or mail
// block for every context that takes legacy protocols from nginx's
// built-in default: the fewest lines that cover them all.
func (p *planner) planDefaults() {
	for _, s := range p.a.Servers {
		if s.Source == audit.SourceDefault && !s.Configured.Below(p.min).Empty() {
			p.addInsert(s.Module, "ssl_protocols", fmt.Sprintf("%s at %s:%d uses the built-in default %s (legacy-protocol-default)", s.Kind, s.File, s.Line, s.Configured))
		}
	}
	for _, x := range p.a.Proxies {
		if x.Source == audit.SourceDefault && !x.Protocols.Below(p.min).Empty() {
			p.addInsert(x.Module, x.Directive, fmt.Sprintf("%s at %s:%d uses the built-in default %s (legacy-protocol-default)", x.Name, x.File, x.Line, x.Protocols))
		}
	}
}

func (p *planner) addInsert(module, name, why string) {
	for _, in := range p.inserts {
		if in.module == module && in.name == name {
			return
		}
	}
	p.inserts = append(p.inserts, insert{module: module, name: name, reason: why})
}

func (p *planner) inserted(module, name string) bool {
	for _, in := range p.inserts {
		if in.module == module && in.name == name {
			return true
		}
	}
	return false
}

// final is the set a directive will have after the plan (ok false when it
// is deleted).
func (p *planner) final(k dirKey) (audit.ProtocolSet, bool) {
	switch p.act[k] {
	case rewrite:
		return p.target, true
	case remove:
		return 0, false
	}
	return p.a.Directives[p.first[k]].Protocols, true
}

// serverFinal is the set a server will be configured with after the plan.
func (p *planner) serverFinal(s nginx.Server) audit.ProtocolSet {
	switch {
	case len(s.Directives) > 0:
		var set audit.ProtocolSet
		for _, i := range s.Directives {
			if f, ok := p.final(p.key(i)); ok {
				set = set.Union(f)
			}
		}
		return set
	case s.Source == audit.SourceInherited && s.From != nil:
		if dirs := p.levelAt(*s.From); len(dirs) > 0 {
			var set audit.ProtocolSet
			for _, k := range dirs {
				if f, ok := p.final(k); ok {
					set = set.Union(f)
				}
			}
			return set
		}
	case s.Source == audit.SourceDefault:
		if p.inserted(s.Module, "ssl_protocols") {
			return p.target
		}
	}
	return s.Configured
}

// levelAt returns the ssl_protocols directives of the level whose first
// line is at loc (nginx ORs the lines of one level).
func (p *planner) levelAt(loc audit.Location) []dirKey {
	if p.levels == nil {
		// One pass: group the ssl_protocols lines by level, and index each
		// level by the location of every line in it.
		p.levels = map[audit.Location][]dirKey{}
		groups := map[string][]dirKey{}
		var order []string
		for j, e := range p.a.Directives {
			if e.Name != "ssl_protocols" {
				continue
			}
			g := fmt.Sprintf("%s\x00%d\x00%s", e.BlockFile, e.BlockLine, strings.Join(e.Context, "/"))
			if groups[g] == nil {
				order = append(order, g)
			}
			groups[g] = append(groups[g], p.key(j))
		}
		for _, g := range order {
			for _, k := range groups[g] {
				l := audit.Location{File: k.file, Line: k.line}
				if _, ok := p.levels[l]; !ok {
					p.levels[l] = groups[g]
				}
			}
		}
	}
	return p.levels[loc]
}

// harmonise makes every server on one listen address end with the same
// protocols: nginx before 1.29.2 lets the default server decide for all of
// them, and a mix is never what an admin means. An already-compliant
// directive that must change for this is said in the notes.
func (p *planner) harmonise() {
	byLoc := map[audit.Location]int{}
	for i, s := range p.a.Servers {
		byLoc[audit.Location{File: s.File, Line: s.Line}] = i
	}
	for round := 0; round < 8; round++ {
		changed := false
		for _, l := range p.a.Listeners {
			var idx []int
			sets := map[audit.ProtocolSet]bool{}
			for _, loc := range l.Servers {
				if i, ok := byLoc[loc]; ok {
					idx = append(idx, i)
					sets[p.serverFinal(p.a.Servers[i])] = true
				}
			}
			if len(sets) <= 1 {
				continue
			}
			for _, i := range idx {
				s := p.a.Servers[i]
				if p.serverFinal(s) == p.target {
					continue
				}
				if p.force(s, l.Address) {
					changed = true
				}
			}
		}
		if !changed {
			return
		}
	}
}

// force makes server s end with the target set; it reports whether it
// planned anything new.
func (p *planner) force(s nginx.Server, addr string) bool {
	why := fmt.Sprintf("so that every server on %s has the same protocols", addr)
	note := func(k dirKey) {
		d := p.a.Directives[p.first[k]]
		p.notes = append(p.notes, fmt.Sprintf("%s:%d: %s %s is compliant but changed to %s %s",
			d.File, d.Line, d.Name, strings.Join(d.Args, " "), remediate.Join(remediate.NginxArgs(p.target)), why))
	}
	var keys []dirKey
	switch {
	case len(s.Directives) > 0:
		for _, i := range s.Directives {
			keys = append(keys, p.key(i))
		}
	case s.Source == audit.SourceInherited && s.From != nil:
		keys = p.levelAt(*s.From)
	case s.Source == audit.SourceDefault:
		if p.inserted(s.Module, "ssl_protocols") {
			return false
		}
		p.addInsert(s.Module, "ssl_protocols", fmt.Sprintf("%s at %s:%d uses the built-in default %s; set explicitly %s", s.Kind, s.File, s.Line, s.Configured, why))
		p.notes = append(p.notes, fmt.Sprintf("%s:%d: %s uses the built-in default %s; ssl_protocols %s added to the %s block %s",
			s.File, s.Line, s.Kind, s.Configured, remediate.Join(remediate.NginxArgs(p.target)), s.Module, why))
		return true
	}
	changed := false
	for _, k := range keys {
		if p.act[k] != keep {
			continue
		}
		d := p.a.Directives[p.first[k]]
		p.setRewrite(k, fmt.Sprintf("%s %s -> %s (%s)", d.Name, strings.Join(d.Args, " "), remediate.Join(remediate.NginxArgs(p.target)), why))
		note(k)
		changed = true
	}
	return changed
}

// server describes the nginx server for the transaction: its config test.
func (p *planner) server() remediate.Server {
	s := remediate.Server{Kind: "nginx", Main: p.a.Main, Binary: p.a.Binary}
	disk := p.opt.DiskPath
	if disk == nil {
		disk = func(h string) string { return h }
	}
	if p.a.Binary != "" {
		s.TestArgv = []string{p.a.Binary, "-t", "-c", disk(p.a.Main)}
	}
	for _, l := range p.a.Listeners {
		s.Listeners = append(s.Listeners, l.Address)
	}
	sort.Strings(s.Listeners)
	return s
}
