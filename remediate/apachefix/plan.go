// Package apachefix plans the fix for an Apache httpd configuration: which
// SSLProtocol and SSLProxyProtocol lines to rewrite, and where to add one
// server-wide SSLProtocol (inside <IfModule ssl_module>, so the config stays
// valid without mod_ssl), as minimal byte edits located in the original
// bytes (remediate/locate) and checked by parsing the edited configuration
// again with audit/apache's parser. It writes nothing. It imports audit,
// remediate and platform, never cmd.
package apachefix

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
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

// Analyze runs the Apache audit and plans its fix.
func Analyze(ctx context.Context, env *audit.Env, opt Options) (*apache.Analysis, *remediate.Plan, error) {
	a, err := apache.Analyze(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	p, err := Plan(a, env.FS, opt)
	return a, p, err
}

type dirKey struct {
	file string
	line int
}

type planner struct {
	a      *apache.Analysis
	fsys   platform.FS
	opt    Options
	min    audit.Protocol
	target audit.ProtocolSet

	dirs    map[dirKey]*apache.Directive
	order   []dirKey
	rewrite map[dirKey]string // key -> reason
	inserts []insert
	notes   []string
	// lexed are the original files as edits() read them, by real path.
	lexed map[string]*locate.ApacheFile
}

type insert struct {
	name   string // SSLProtocol or SSLProxyProtocol
	reason string
}

// Plan turns an Apache analysis into a plan. An empty plan means nothing
// to change. Errors are *audit.ConfigError when a file cannot be edited
// with certainty.
func Plan(a *apache.Analysis, fsys platform.FS, opt Options) (*remediate.Plan, error) {
	plan := &remediate.Plan{}
	if a == nil || !a.Found || a.Main == "" {
		return plan, nil
	}
	p := &planner{a: a, fsys: fsys, opt: opt, dirs: map[dirKey]*apache.Directive{}, rewrite: map[dirKey]string{}}
	p.min = max(opt.Policy.Min, audit.TLS12)
	target, note, err := opt.Policy.Target(support(a))
	if err != nil {
		return nil, fmt.Errorf("apache: %w", err)
	}
	p.target = target
	for i := range a.Directives {
		d := &a.Directives[i]
		k := dirKey{d.File, d.Line}
		if _, ok := p.dirs[k]; !ok && d.Active {
			p.dirs[k] = d
			p.order = append(p.order, k)
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
	plan.Files, plan.Notes = files, p.notes
	plan.Servers = []remediate.Server{p.server()}
	if err := verify(a, plan, p.lexed); err != nil {
		return nil, err
	}
	return plan, nil
}

// support: TLSv1.3 in SSLProtocol needs httpd 2.4.36 and OpenSSL 1.1.1,
// or httpd refuses to start. An unknown httpd version does not get it; an
// unknown library is assumed new enough, as the audit does.
func support(a *apache.Analysis) remediate.Support {
	switch {
	case a.VersionAssumed || !a.Version.Known():
		return remediate.Support{Why: "the httpd version is unknown (use --apache-bin)"}
	case !a.Version.AtLeast("2.4.36"):
		return remediate.Support{Why: fmt.Sprintf("httpd %s is older than 2.4.36 and rejects TLSv1.3", a.Version)}
	case a.Library.Known() && !a.Library.SupportsTLS13():
		return remediate.Support{Why: fmt.Sprintf("mod_ssl uses %s, which cannot do TLS 1.3", a.Library)}
	}
	return remediate.Support{TLS13: true}
}

func (p *planner) targetText() string { return remediate.Join(remediate.ApacheArgs(p.target)) }

// planDirectives marks every active protocol directive the audit flags (or
// that names a protocol below the floor) for rewriting.
func (p *planner) planDirectives() {
	flagged := map[dirKey][]string{}
	for _, f := range p.a.Findings {
		if f.ID == audit.RuleLegacyEnabled || f.ID == audit.RuleDirectiveNoEffect {
			k := dirKey{f.File, f.Line}
			flagged[k] = append(flagged[k], string(f.ID))
		}
	}
	for _, k := range p.order {
		d := p.dirs[k]
		ids := flagged[k]
		below := !d.Protocols.Union(d.Effective).Below(p.min).Empty()
		if len(ids) == 0 && !below {
			continue
		}
		if len(ids) == 0 {
			ids = []string{"below " + p.min.String()}
		}
		p.rewrite[k] = fmt.Sprintf("%s %s -> %s (%s)", d.Name, strings.Join(d.RawArgs, " "), p.targetText(), strings.Join(ids, ", "))
	}
}

// planDefaults adds one server-wide directive when a context takes legacy
// protocols from httpd's built-in default.
func (p *planner) planDefaults() {
	for _, c := range p.a.Component.Contexts {
		if c.Source != audit.SourceDefault || c.Protocols.Below(p.min).Empty() {
			continue
		}
		name := "SSLProtocol"
		if c.Kind == "proxy" {
			name = "SSLProxyProtocol"
		}
		p.addInsert(name, fmt.Sprintf("%s %s at %s:%d uses httpd's default %s (legacy-protocol-default)", c.Kind, c.Name, c.File, c.Line, c.Protocols))
	}
}

func (p *planner) addInsert(name, why string) bool {
	for _, in := range p.inserts {
		if in.name == name {
			return false
		}
	}
	// An existing server-wide SSLProtocol is rewritten instead.
	if name == "SSLProtocol" && p.a.ServerWide.Kind == apache.InsertReplace {
		k := dirKey{p.a.ServerWide.File, p.a.ServerWide.Line}
		if d := p.dirs[k]; d != nil {
			if _, ok := p.rewrite[k]; !ok {
				p.rewrite[k] = fmt.Sprintf("%s %s -> %s (%s)", d.Name, strings.Join(d.RawArgs, " "), p.targetText(), why)
				return true
			}
			return false
		}
	}
	p.inserts = append(p.inserts, insert{name: name, reason: why})
	return true
}

func (p *planner) insertedProtocol() bool {
	for _, in := range p.inserts {
		if in.name == "SSLProtocol" {
			return true
		}
	}
	return false
}

// vhostFinal is the SSLProtocol set a TLS virtual host ends with.
func (p *planner) vhostFinal(v apache.VHost) audit.ProtocolSet {
	var k dirKey
	switch {
	case v.Protocol != nil:
		k = dirKey{v.Protocol.File, v.Protocol.Line}
	case v.Source == audit.SourceInherited && v.From != nil:
		k = dirKey{v.From.File, v.From.Line}
	case v.Source == audit.SourceDefault && p.insertedProtocol():
		return p.target
	default:
		return v.Effective
	}
	if _, ok := p.rewrite[k]; ok {
		return p.target
	}
	return v.Effective
}

// harmonise gives every TLS virtual host on one address the same
// protocols: httpd 2.4.66 and later answer 421 when they differ (SNI
// policy "secure"), older ones silently use the base vhost's.
func (p *planner) harmonise() {
	for round := 0; round < 8; round++ {
		byAddr := map[string][]int{}
		var addrs []string
		for i, v := range p.a.VHosts {
			if !v.SSLEngine {
				continue
			}
			for _, ad := range v.Addresses {
				if byAddr[ad] == nil {
					addrs = append(addrs, ad)
				}
				byAddr[ad] = append(byAddr[ad], i)
			}
		}
		changed := false
		for _, ad := range addrs {
			sets := map[audit.ProtocolSet]bool{}
			for _, i := range byAddr[ad] {
				sets[p.vhostFinal(p.a.VHosts[i])] = true
			}
			if len(sets) <= 1 {
				continue
			}
			for _, i := range byAddr[ad] {
				v := p.a.VHosts[i]
				if p.vhostFinal(v) != p.target && p.force(v, ad) {
					changed = true
				}
			}
		}
		if !changed {
			return
		}
	}
}

func (p *planner) force(v apache.VHost, addr string) bool {
	why := fmt.Sprintf("so that every virtual host on %s has the same protocols", addr)
	var k dirKey
	switch {
	case v.Protocol != nil:
		k = dirKey{v.Protocol.File, v.Protocol.Line}
	case v.Source == audit.SourceInherited && v.From != nil:
		k = dirKey{v.From.File, v.From.Line}
	default:
		if !p.addInsert("SSLProtocol", fmt.Sprintf("virtual host at %s:%d uses httpd's default %s; set explicitly %s", v.File, v.Line, v.Effective, why)) {
			return false
		}
		p.notes = append(p.notes, fmt.Sprintf("%s:%d: the virtual host uses httpd's default %s; a server-wide SSLProtocol %s is added %s", v.File, v.Line, v.Effective, p.targetText(), why))
		return true
	}
	d := p.dirs[k]
	if d == nil {
		return false
	}
	if _, ok := p.rewrite[k]; ok {
		return false
	}
	p.rewrite[k] = fmt.Sprintf("%s %s -> %s (%s)", d.Name, strings.Join(d.RawArgs, " "), p.targetText(), why)
	p.notes = append(p.notes, fmt.Sprintf("%s:%d: %s %s is compliant but changed to %s %s", d.File, d.Line, d.Name, strings.Join(d.RawArgs, " "), p.targetText(), why))
	return true
}

// server describes httpd for the transaction: its config test. apachectl
// and apache2ctl test the distribution's config; for another main config
// (tests, --root) -f and -d name it.
func (p *planner) server() remediate.Server {
	s := remediate.Server{Kind: "apache", Main: p.a.Main, Binary: p.a.Binary}
	disk := p.opt.DiskPath
	if disk == nil {
		disk = func(h string) string { return h }
	}
	if p.a.Binary != "" {
		bin := p.a.Binary // named by flag or found on PATH: a path on this machine
		base := path.Base(p.a.Binary)
		standard := disk(p.a.Main) == p.a.Main && (p.a.Main == "/etc/apache2/apache2.conf" || p.a.Main == "/etc/httpd/conf/httpd.conf")
		if strings.HasSuffix(base, "ctl") && standard {
			s.TestArgv = []string{bin, "-t"}
		} else {
			s.TestArgv = []string{bin, "-t", "-d", disk(p.a.ServerRoot), "-f", disk(p.a.Main)}
		}
	}
	for _, l := range p.a.Listeners {
		s.Listeners = append(s.Listeners, l.Address)
	}
	sort.Strings(s.Listeners)
	return s
}
