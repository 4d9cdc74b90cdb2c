package nginx

import (
	"fmt"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// group is one listen address:port of one module and the servers on it.
type group struct {
	key     string
	module  string
	addr    string
	port    int
	tls     bool
	servers []*srv
	def     *srv
}

// configured is a server's own (or inherited, or default) set.
type configured struct {
	set   audit.ProtocolSet
	src   audit.Source
	from  *audit.Location
	dirs  []int
	own   []int
	notes []string
}

// tctx is one TLS context (server or proxy) during finding generation.
type tctx struct {
	report    audit.Context
	affect    audit.Affect
	effective audit.ProtocolSet
	handshake audit.ProtocolSet
	from      *audit.Location
	src       audit.Source
	ciphers   []string
	reachedBy []int // indexes of directives whose set reaches it
	decidedBy *audit.Location
}

func (e *evaluator) configuredFor(c chain) configured {
	set, lvl := c.protocols(dSSLProtocols)
	if set == nil {
		return configured{set: e.deflt, src: audit.SourceDefault}
	}
	f := set.first
	cf := configured{set: set.set, src: audit.SourceInherited, from: &f, dirs: set.dirs}
	if lvl == len(c)-1 {
		cf.src, cf.own = audit.SourceDirective, set.dirs
	}
	return cf
}

func ciphersFor(c chain, dir string) []string {
	var out []string
	if v := c.cipher(cipherDirective[dir]); v != "" {
		out = append(out, v)
	}
	for _, cc := range c.confCmds(confCommandDirective[dir]) {
		if strings.EqualFold(cc.name, "CipherString") {
			out = append(out, cc.value)
		}
	}
	return out
}

// applyConfCommands applies ssl_conf_command MinProtocol, MaxProtocol and
// Protocol, which nginx hands to OpenSSL after ssl_protocols, so they win.
func applyConfCommands(set audit.ProtocolSet, cmds []confCmd) (audit.ProtocolSet, []string) {
	var notes []string
	for _, c := range cmds {
		before := set
		switch strings.ToLower(c.name) {
		case "minprotocol":
			if p, ok := audit.ParseProtocol(c.value); ok {
				set = set.AtLeast(p)
			}
		case "maxprotocol":
			if p, ok := audit.ParseProtocol(c.value); ok && p < audit.TLS13 {
				set = set.Below(p + 1)
			}
		case "protocol":
			for _, item := range strings.Split(c.value, ",") {
				item = strings.TrimSpace(item)
				neg := strings.HasPrefix(item, "-")
				item = strings.TrimLeft(item, "+-")
				var ps audit.ProtocolSet
				if strings.EqualFold(item, "ALL") {
					ps = audit.Set(audit.AllProtocols[:]...)
				} else if p, ok := audit.ParseProtocol(item); ok {
					ps = audit.Set(p)
				}
				if neg {
					set = set.Minus(ps)
				} else {
					set = set.Union(ps)
				}
			}
		default:
			continue
		}
		notes = append(notes, fmt.Sprintf("ssl_conf_command %s %s (%s) is applied after the protocol list: %s -> %s",
			c.name, c.value, fmtLoc(c.loc), before, set))
	}
	return set, notes
}

// servers2 decides which servers serve TLS, who is the default server of
// each address, and each server's effective set.
func (e *evaluator) servers2() {
	groups := map[string]*group{}
	var order []*group
	for _, s := range e.servers {
		for _, l := range s.listens {
			g := groups[l.key]
			if g == nil {
				g = &group{key: l.key, module: s.module, addr: l.addr, port: l.port}
				groups[l.key] = g
				order = append(order, g)
			}
			if len(g.servers) == 0 || g.servers[len(g.servers)-1] != s {
				g.servers = append(g.servers, s)
			}
			if l.ssl || s.sslOn {
				g.tls = true
			}
			if l.def && g.def == nil {
				g.def = s
			}
		}
	}
	for _, g := range order {
		if g.def == nil {
			g.def = g.servers[0]
		}
	}
	conf := map[*srv]configured{}
	for _, s := range e.servers {
		conf[s] = e.configuredFor(s.chain)
	}
	ctxs := []*tctx{}
	for _, s := range e.servers {
		var addrs []string
		var mine []*group
		seen := map[string]bool{}
		for _, l := range s.listens {
			g := groups[l.key]
			if !g.tls || seen[g.key] {
				continue
			}
			seen[g.key] = true
			addrs = append(addrs, g.addr)
			mine = append(mine, g)
		}
		if len(mine) == 0 {
			continue
		}
		cf := conf[s]
		sv := Server{
			Module: s.module, Kind: s.module + " server", File: s.loc.File, Line: s.loc.Line,
			Names: s.names, Listen: addrs, Configured: cf.set, Source: cf.src, From: cf.from,
			Effective: cf.set, EffectiveSource: cf.src, EffectiveFrom: cf.from, Directives: cf.own,
			Ciphers: ciphersFor(s.chain, dSSLProtocols),
		}
		reached := append([]int(nil), cf.dirs...)
		for _, g := range mine {
			if g.def == s {
				sv.Default = true
			}
		}
		// The SNI caveat: before 1.29.2 (or without the ClientHello
		// callback) the handshake uses the default server's protocols.
		// Mail has no name-based servers, so nothing to decide there.
		if !e.a.SNIPerServer && s.module != "mail" {
			var eff audit.ProtocolSet
			var decider *srv
			for _, g := range mine {
				eff = eff.Union(conf[g.def].set)
				if g.def != s && decider == nil {
					decider = g.def
				}
			}
			if decider != nil {
				dc := conf[decider]
				dl := decider.loc
				sv.Effective, sv.EffectiveSource, sv.EffectiveFrom, sv.DecidedBy = eff, dc.src, dc.from, &dl
				reached = append(reached, dc.dirs...)
				sv.Notes = append(sv.Notes, fmt.Sprintf("not the default server for %s: before nginx 1.29.2 (or with OpenSSL < 1.1.1) the default server at %s decides the protocols",
					strings.Join(addrs, " "), fmtLoc(dl)))
			}
		}
		hs, notes := applyConfCommands(sv.Effective, s.chain.confCmds(dConfCommand))
		sv.Notes = append(sv.Notes, notes...)
		sv.Notes = append(sv.Notes, e.libraryNotes(sv.Effective)...)
		for _, a := range addrs {
			if strings.HasSuffix(a, "/quic") && !sv.Effective.Has(audit.TLS13) {
				sv.Notes = append(sv.Notes, a+": QUIC needs TLSv1.3, which this server does not enable")
				break
			}
		}
		e.a.Servers = append(e.a.Servers, sv)
		ctxs = append(ctxs, &tctx{
			report: audit.Context{
				File: sv.File, Line: sv.Line, Kind: sv.Kind, Name: strings.Join(sv.Names, " "), Listen: sv.Listen,
				Protocols: sv.Effective, Source: sv.EffectiveSource, From: sv.EffectiveFrom, Note: strings.Join(sv.Notes, "; "),
			},
			affect:    audit.Affect{File: sv.File, Line: sv.Line, Name: s.describe(addrs)},
			effective: sv.Effective, handshake: hs, from: sv.EffectiveFrom, src: sv.EffectiveSource,
			ciphers: sv.Ciphers, reachedBy: reached, decidedBy: sv.DecidedBy,
		})
	}
	for _, g := range order {
		if !g.tls {
			continue
		}
		l := Listener{Module: g.module, Address: g.addr, Port: g.port, Effective: conf[g.def].set, DefaultServer: g.def.loc}
		for _, s := range g.servers {
			l.Servers = append(l.Servers, s.loc)
		}
		e.a.Listeners = append(e.a.Listeners, l)
	}
	for _, p := range e.proxies {
		reached := p.Directives
		hs, notes := applyConfCommands(p.Protocols, p.chain.confCmds(confCommandDirective[p.Directive]))
		p.Notes = append(p.Notes, notes...)
		p.Notes = append(p.Notes, e.libraryNotes(p.Protocols)...)
		kind := "proxy"
		switch {
		case p.Module == "stream":
			kind = "stream proxy"
		case p.Directive == dGRPCProtocols:
			kind = "grpc proxy"
		case p.Directive == dUWSGIProtocols:
			kind = "uwsgi proxy"
		}
		name := p.Name + " -> " + p.Target
		e.a.Proxies = append(e.a.Proxies, p.Proxy)
		ctxs = append(ctxs, &tctx{
			report: audit.Context{
				File: p.File, Line: p.Line, Kind: kind, Name: name, Listen: []string{},
				Protocols: p.Protocols, Source: p.Source, From: p.From, Note: strings.Join(p.Notes, "; "),
			},
			affect:    audit.Affect{File: p.File, Line: p.Line, Name: kind + " " + name},
			effective: p.Protocols, handshake: hs, from: p.From, src: p.Source, ciphers: p.Ciphers, reachedBy: reached,
		})
	}
	e.ctxs = ctxs
}

// libraryNotes says which configured protocols the library cannot speak:
// nginx accepts the tokens and silently skips them (SSL_OP_NO_* #ifdefs),
// so the report keeps the configured set and explains.
func (e *evaluator) libraryNotes(set audit.ProtocolSet) []string {
	lib := e.d.lib
	if !lib.Known() {
		return nil
	}
	var missing audit.ProtocolSet
	if set.Has(audit.TLS13) && !lib.SupportsTLS13() {
		missing = missing.With(audit.TLS13)
	}
	if !lib.SupportsTLS12() {
		missing = missing.Union(set.Intersect(audit.Set(audit.TLS11, audit.TLS12)))
	}
	if lib.Flavor == openssl.FlavorOpenSSL && (lib.Major > 1 || lib.Minor >= 1) && set.Has(audit.SSLv2) {
		missing = missing.With(audit.SSLv2) // removed in OpenSSL 1.1.0
	}
	if missing.Empty() {
		return nil
	}
	return []string{fmt.Sprintf("%s cannot negotiate %s; nginx skips them silently", lib, missing)}
}

// dirKey identifies a directive in the files (a snippet included by many
// servers is one directive).
type dirKey struct {
	file          string
	line, ordinal int
}

func (e *evaluator) key(i int) dirKey {
	d := e.a.Directives[i]
	return dirKey{d.File, d.Line, d.Ordinal}
}

const blockedMsg = "configured but refused by OpenSSL 3 at security level >= 1; one @SECLEVEL=0 turns it back on"

// severity rates a set of legacy protocols reaching some contexts: SSL is
// critical, TLS 1.0/1.1 high, TLS 1.2 under a TLS 1.3 policy medium. When
// OpenSSL 3 refuses TLS 1.0/1.1 (and SSLv3) for every context concerned,
// it drops to medium; when ssl_conf_command removes them everywhere, low.
func (e *evaluator) severity(legacy audit.ProtocolSet, cipherSets [][]string, handshakes []audit.ProtocolSet) (audit.Severity, string) {
	old := legacy.Below(audit.TLS12)
	sev := audit.Medium
	switch {
	case legacy.Has(audit.SSLv2) || legacy.Has(audit.SSLv3):
		sev = audit.Critical
	case !old.Empty():
		sev = audit.High
	}
	if len(handshakes) > 0 {
		still := false
		for _, h := range handshakes {
			if !h.Intersect(legacy).Empty() {
				still = true
			}
		}
		if !still {
			return audit.Low, "ssl_conf_command removes them before the handshake"
		}
	}
	if old.Empty() || !e.d.lib.Known() {
		return sev, ""
	}
	for _, cs := range cipherSets {
		if !openssl.LegacyBlocked(e.d.lib, cs...) {
			return sev, ""
		}
	}
	if legacy.Has(audit.TLS12) {
		return audit.Medium, blockedMsg + " (TLSv1.2 is not affected)"
	}
	return audit.Medium, blockedMsg
}

func (e *evaluator) legacyNames(s audit.ProtocolSet) string { return strings.Join(s.Strings(), " ") }

func (e *evaluator) findings() {
	a := e.a
	var out []audit.Finding
	// Index the directives once: occurrences per directive (a snippet
	// included twice is one directive), occurrences per location, and the
	// contexts each directive reaches, in context order.
	occ := map[dirKey][]int{}
	var keys []dirKey
	byLoc := map[audit.Location][]int{}
	for i, d := range a.Directives {
		k := e.key(i)
		if _, ok := occ[k]; !ok {
			keys = append(keys, k)
		}
		occ[k] = append(occ[k], i)
		l := audit.Location{File: d.File, Line: d.Line}
		byLoc[l] = append(byLoc[l], i)
	}
	reach := map[dirKey][]*tctx{}
	for _, c := range e.ctxs {
		for _, i := range c.reachedBy {
			k := e.key(i)
			if r := reach[k]; len(r) == 0 || r[len(r)-1] != c {
				reach[k] = append(r, c)
			}
		}
	}
	mark := func(k dirKey, id audit.RuleID) {
		for _, i := range occ[k] {
			a.Directives[i].Findings = append(a.Directives[i].Findings, id)
		}
	}
	// markLoc marks every directive at a deciding location (the first of
	// the OR-ed lines of a level).
	markLoc := func(l audit.Location, id audit.RuleID) {
		for _, i := range byLoc[l] {
			a.Directives[i].Findings = append(a.Directives[i].Findings, id)
		}
	}

	// legacy-protocol-enabled: one per directive.
	for _, k := range keys {
		d := a.Directives[occ[k][0]]
		legacy := d.Protocols.Below(e.min)
		if legacy.Empty() {
			continue
		}
		var ciphers [][]string
		var affects []audit.Affect
		var hs []audit.ProtocolSet
		if ctxs := reach[k]; len(ctxs) > 0 {
			for _, c := range ctxs {
				affects = append(affects, c.affect)
				hs = append(hs, c.handshake)
				ciphers = append(ciphers, c.ciphers)
			}
		} else {
			for _, j := range occ[k] {
				ciphers = append(ciphers, e.dirCiphers[j])
			}
		}
		sev, why := e.severity(legacy, ciphers, hs)
		msg := fmt.Sprintf("%s enables %s", d.Name, e.legacyNames(legacy))
		if len(affects) == 0 {
			msg += "; no TLS context uses it now, but any added under this block will"
		} else {
			msg += fmt.Sprintf(" for %d TLS context(s)", len(affects))
		}
		if why != "" {
			msg += "; " + why
		}
		f := audit.NewFinding(audit.RuleLegacyEnabled, audit.KindNginx, audit.Location{File: d.File, Line: d.Line}, legacy, msg)
		f.Severity, f.Fixable = sev, true
		if affects != nil {
			f.Affects = affects
		}
		out = append(out, f)
		mark(k, audit.RuleLegacyEnabled)
	}

	// legacy-protocol-default: a context that takes legacy protocols from
	// the built-in default.
	for _, c := range e.ctxs {
		legacy := c.effective.Below(e.min)
		if c.src != audit.SourceDefault || legacy.Empty() {
			continue
		}
		sev, why := e.severity(legacy, [][]string{c.ciphers}, []audit.ProtocolSet{c.handshake})
		ver := e.d.version.String()
		if e.d.assumed {
			ver = "of unknown version (oldest default assumed)"
		}
		msg := fmt.Sprintf("no %s applies to this %s; the built-in default of nginx %s enables %s",
			protoDirectiveFor(c.report.Kind), c.report.Kind, ver, e.legacyNames(legacy))
		if c.decidedBy != nil {
			msg = fmt.Sprintf("the default server at %s decides this %s's protocols and has no %s; the built-in default of nginx %s enables %s",
				fmtLoc(*c.decidedBy), c.report.Kind, protoDirectiveFor(c.report.Kind), ver, e.legacyNames(legacy))
		}
		if why != "" {
			msg += "; " + why
		}
		f := audit.NewFinding(audit.RuleLegacyDefault, audit.KindNginx, audit.Location{File: c.report.File, Line: c.report.Line}, legacy, msg)
		f.Severity, f.Fixable, f.Affects = sev, true, []audit.Affect{c.affect}
		out = append(out, f)
	}

	// tls12-missing and tls13-available, one finding per deciding place.
	tls13OK := e.d.version.Known() && e.d.version.AtLeast("1.13.0") && e.d.lib.Known() && e.d.lib.SupportsTLS13()
	type grp struct {
		loc     audit.Location
		set     audit.ProtocolSet
		affects []audit.Affect
		dir     bool
	}
	groupBy := func(pred func(*tctx) bool) []*grp {
		var gs []*grp
		idx := map[audit.Location]*grp{}
		for _, c := range e.ctxs {
			if !pred(c) {
				continue
			}
			l := audit.Location{File: c.report.File, Line: c.report.Line}
			if c.from != nil {
				l = *c.from
			}
			g := idx[l]
			if g == nil {
				g = &grp{loc: l, set: c.effective, dir: c.from != nil}
				idx[l] = g
				gs = append(gs, g)
			}
			g.affects = append(g.affects, c.affect)
		}
		return gs
	}
	for _, g := range groupBy(func(c *tctx) bool {
		return !c.effective.Has(audit.TLS12) && !(e.min == audit.TLS13 && c.effective.Has(audit.TLS13))
	}) {
		msg := fmt.Sprintf("TLSv1.2 is not enabled (protocols: %s) for %d TLS context(s)", g.set, len(g.affects))
		f := audit.NewFinding(audit.RuleTLS12Missing, audit.KindNginx, g.loc, g.set, msg)
		f.Fixable, f.Affects = true, g.affects
		out = append(out, f)
		if g.dir {
			markLoc(g.loc, audit.RuleTLS12Missing)
		}
	}
	if tls13OK {
		for _, g := range groupBy(func(c *tctx) bool { return !c.effective.Has(audit.TLS13) }) {
			msg := fmt.Sprintf("nginx %s with %s supports TLSv1.3, but it is not enabled (protocols: %s) for %d TLS context(s)",
				e.d.version, e.d.lib, g.set, len(g.affects))
			f := audit.NewFinding(audit.RuleTLS13Available, audit.KindNginx, g.loc, audit.Set(audit.TLS13), msg)
			f.Fixable, f.Affects = true, g.affects
			out = append(out, f)
			if g.dir {
				markLoc(g.loc, audit.RuleTLS13Available)
			}
		}
	}

	// directive-no-effect: a non-default server's own ssl_protocols that
	// the default server overrides.
	type noEff struct {
		k       dirKey
		idx     int
		affects []audit.Affect
		decider audit.Location
		eff     audit.ProtocolSet
	}
	var nes []*noEff
	neIdx := map[dirKey]*noEff{}
	for si, sv := range a.Servers {
		if sv.DecidedBy == nil || len(sv.Directives) == 0 || sv.Configured == sv.Effective {
			continue
		}
		for _, di := range sv.Directives {
			k := e.key(di)
			ne := neIdx[k]
			if ne == nil {
				ne = &noEff{k: k, idx: di, decider: *sv.DecidedBy, eff: sv.Effective}
				neIdx[k] = ne
				nes = append(nes, ne)
			}
			ne.affects = append(ne.affects, e.serverAffect(si))
		}
	}
	for _, ne := range nes {
		d := a.Directives[ne.idx]
		msg := fmt.Sprintf("%s %s has no effect: this server is not the default server of its address, and before nginx 1.29.2 (or with OpenSSL < 1.1.1) the default server at %s decides (%s)",
			d.Name, NginxString(d.Protocols), fmtLoc(ne.decider), ne.eff)
		f := audit.NewFinding(audit.RuleDirectiveNoEffect, audit.KindNginx, audit.Location{File: d.File, Line: d.Line}, d.Protocols, msg)
		f.Fixable, f.Affects = true, ne.affects
		out = append(out, f)
		mark(ne.k, audit.RuleDirectiveNoEffect)
	}
	if out == nil {
		out = []audit.Finding{}
	}
	a.Findings = out
}

// serverAffect is the affect entry of a.Servers[i]; server contexts come
// first in e.ctxs, in the same order.
func (e *evaluator) serverAffect(i int) audit.Affect { return e.ctxs[i].affect }

func protoDirectiveFor(kind string) string {
	switch kind {
	case "proxy", "stream proxy":
		return dProxyProtocols
	case "grpc proxy":
		return dGRPCProtocols
	case "uwsgi proxy":
		return dUWSGIProtocols
	}
	return dSSLProtocols
}

// component builds the report component.
func (e *evaluator) component() {
	a, d := e.a, e.d
	c := audit.Component{Kind: audit.KindNginx, Path: a.Main, Version: "unknown", Status: audit.StatusOK}
	if d.version.Known() {
		c.Version = d.version.String()
	}
	if d.bin != "" {
		c.Notes = append(c.Notes, "binary: "+d.bin)
	}
	if d.assumed {
		c.Notes = append(c.Notes, "nginx version unknown (use --nginx-version): assuming the oldest built-in default, SSLv3 TLSv1 TLSv1.1 TLSv1.2")
	}
	if d.lib.Known() {
		c.Notes = append(c.Notes, fmt.Sprintf("TLS library: %s (from %s)", d.lib, d.libVia))
	} else {
		c.Notes = append(c.Notes, "TLS library version unknown: severities assume it negotiates every configured protocol")
	}
	switch {
	case !a.SNIPerServer:
		c.Notes = append(c.Notes, "nginx before 1.29.2 (or OpenSSL before 1.1.1): the default server of each listen address decides the protocols for every server on it")
	case !d.lib.Known():
		c.Notes = append(c.Notes, "assuming OpenSSL >= 1.1.1, so each server's own ssl_protocols applies to SNI clients (nginx >= 1.29.2); clients without SNI get the default server's")
	default:
		c.Notes = append(c.Notes, "each server's own ssl_protocols applies to SNI clients (nginx >= 1.29.2); clients without SNI get the default server's")
	}
	c.Notes = append(c.Notes, d.notes...)
	c.Notes = append(c.Notes, fmt.Sprintf("parsed %d file(s), %d protocol directive(s), %d TLS context(s)", len(a.Files), len(a.Directives), len(e.ctxs)))
	for _, x := range e.ctxs {
		c.Contexts = append(c.Contexts, x.report)
	}
	if c.Contexts == nil {
		c.Contexts = []audit.Context{}
	}
	a.Component = c
}
