package apache

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// scanner is the audit.Scanner for Apache httpd.
type scanner struct{}

// NewScanner returns the Apache scanner.
func NewScanner() audit.Scanner { return scanner{} }

func (scanner) Name() string { return "apache" }

func (scanner) Scan(ctx context.Context, env *audit.Env) (audit.Result, error) {
	a, err := Analyze(ctx, env)
	if err != nil {
		return audit.Result{}, err
	}
	return audit.ServerResult(a.Component, a.Findings, a.LibraryComponent, a.LibraryFindings), nil
}

// Analyze finds, parses and evaluates the Apache configuration. Found is
// false (and the error nil) when there is no Apache; a config that cannot be
// read with certainty is an *audit.ConfigError.
func Analyze(ctx context.Context, env *audit.Env) (*Analysis, error) {
	return analyze(ctx, env, nil)
}

// analyze is Analyze with the TLS library given instead of read from
// mod_ssl (lib != nil), for tests of version-dependent behaviour.
func analyze(ctx context.Context, env *audit.Env, lib *openssl.Library) (*Analysis, error) {
	d := discover(ctx, env)
	a := &Analysis{Binary: d.binary, Version: d.version, Defines: map[string]string{}}
	if d.main == "" {
		notes := []string{"no Apache httpd found; looked for: " + strings.Join(d.looked, ", ")}
		a.Component = audit.Component{Kind: audit.KindApache, Version: "",
			Status: audit.StatusNotFound, Notes: append(notes, d.notes...)}
		return a, nil
	}
	a.Found, a.Main = true, d.main
	a.ServerRoot = d.serverRoot
	if a.ServerRoot == "" {
		a.ServerRoot = DefaultServerRoot(d.main)
	}
	opt := ParseOptions{ServerRoot: a.ServerRoot, Version: d.version, StaticModules: d.static}
	var notes []string
	notes = append(notes, d.notes...)
	// The service passes -D names that <IfDefine> tests: Debian's
	// apache2ctl adds $APACHE_ARGUMENTS from envvars, Red Hat's httpd.service
	// runs `httpd $OPTIONS` with /etc/sysconfig/httpd as its environment.
	var defines []string
	var definedBy string
	switch path.Base(d.main) {
	case "apache2.conf":
		ev := path.Join(path.Dir(d.main), "envvars")
		if b, err := env.FS.ReadFile(ev); err == nil {
			opt.Env = readEnvvars(string(b))
			notes = append(notes, "environment variables read from "+ev)
			defines, definedBy = commandLineDefines(opt.Env["APACHE_ARGUMENTS"]), "APACHE_ARGUMENTS in "+ev
		}
	case "httpd.conf":
		const sysconfig = "/etc/sysconfig/httpd"
		if b, err := env.FS.ReadFile(sysconfig); err == nil {
			all, _ := readShellVars(string(b))
			defines, definedBy = commandLineDefines(all["OPTIONS"]), "OPTIONS in "+sysconfig
		}
	}
	if len(defines) > 0 {
		opt.Defines = map[string]string{}
		for _, n := range defines {
			opt.Defines[n] = ""
		}
		notes = append(notes, fmt.Sprintf("-D %s from %s", strings.Join(defines, " -D "), definedBy))
	}
	a.ParseOptions = opt
	cfg, err := Parse(env.FS, d.main, opt)
	if err != nil {
		return nil, err
	}
	a.Files, a.Defines = cfg.Files, cfg.Defines
	if !d.version.Known() {
		a.VersionAssumed = true
		notes = append(notes, "httpd version unknown (no apachectl/httpd -V): assuming 2.4.16 or later, whose default is `SSLProtocol all -SSLv3`")
	}
	now := time.Now
	if env.Now != nil {
		now = env.Now
	}
	if lib != nil {
		a.Library, a.LibraryPath = lib.Version, lib.Path
	} else {
		notes = append(notes, a.findLibrary(env, cfg, now())...)
	}
	notes = append(notes, cfg.Notes...)
	if strings.HasPrefix(d.main, "/etc/httpd/") {
		notes = append(notes, "Fedora/RHEL patch httpd so that without SSLProtocol the system crypto policy decides; the upstream default is reported")
	}
	ev := &evaluator{a: a, cfg: cfg, caps: Caps{HTTPD: d.version, Library: a.Library}, policy: env.Policy}
	if err := ev.run(); err != nil {
		return nil, err
	}
	notes = append(notes, ev.notes...)
	version := "unknown"
	if d.version.Known() {
		version = d.version.String()
	}
	a.Component = audit.Component{Kind: audit.KindApache, Path: d.main, Version: version,
		Status: audit.StatusOK, Notes: notes, Contexts: ev.contexts}
	if a.Component.Contexts == nil {
		a.Component.Contexts = []audit.Context{}
	}
	return a, nil
}

// findLibrary reads the OpenSSL that mod_ssl.so links.
func (a *Analysis) findLibrary(env *audit.Env, cfg *Config, now time.Time) []string {
	mod, ok := cfg.Modules["ssl_module"]
	if !ok {
		return []string{"mod_ssl is not loaded (no LoadModule ssl_module): OpenSSL unknown, assuming 1.1.1 or later"}
	}
	if !path.IsAbs(mod) {
		mod = path.Join(cfg.ServerRoot, mod)
	}
	getenv := env.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	lib, err := openssl.LinkedLibrary(env.FS, mod, getenv)
	if err != nil || !lib.Version.Known() {
		msg := "OpenSSL used by " + mod + " unknown"
		if err != nil {
			msg += " (" + err.Error() + ")"
		}
		return []string{msg + ": assuming 1.1.1 or later (TLSv1.3 available, `all` includes it)"}
	}
	a.Library, a.LibraryPath = lib.Version, lib.Path
	c, f := openssl.LibraryReport(lib, "apache", now)
	a.LibraryComponent, a.LibraryFindings = &c, f
	return nil
}

// scope is the settings of one server (the main server or a vhost).
type scope struct {
	vhost         *VHost
	engine        *Directive // last SSLEngine
	proxyEngine   *Directive
	protocol      []*Directive // SSLProtocol, in order
	proxyProtocol []*Directive
	ciphers       []string // SSLCipherSuite values and CipherString confcmds
	confCmds      []*Directive
	serverName    string
}

func (s *scope) lastProtocol() *Directive      { return last(s.protocol) }
func (s *scope) lastProxyProtocol() *Directive { return last(s.proxyProtocol) }

func last(ds []*Directive) *Directive {
	if len(ds) == 0 {
		return nil
	}
	return ds[len(ds)-1]
}

func on(d *Directive) bool {
	if d == nil || len(d.Args) == 0 {
		return false
	}
	v := strings.ToLower(d.Args[0])
	return v == "on" || v == "optional"
}

// reached is a context a protocol directive decides.
type reached struct {
	ctx     int // index into evaluator.contexts
	ciphers []string
}

type evaluator struct {
	a        *Analysis
	cfg      *Config
	caps     Caps
	policy   audit.Policy
	contexts []audit.Context
	notes    []string
	global   scope
	vhosts   []scope
	reach    map[*Directive][]reached
	noEffect map[*Directive]noEffect
	// parsed caches protocol values by directive name and arguments: big
	// configs repeat the same few lines thousands of times.
	parsed map[string]parsedValue
}

type parsedValue struct {
	set, eff audit.ProtocolSet
	err      error
}

func (e *evaluator) parseProtocol(d *Directive) (audit.ProtocolSet, audit.ProtocolSet, error) {
	key := strings.ToLower(d.Name) + "\x00" + strings.Join(d.Args, "\x00")
	if v, ok := e.parsed[key]; ok {
		return v.set, v.eff, v.err
	}
	set, err := e.caps.ParseProtocol(d.Name, d.Args)
	v := parsedValue{set: set, eff: e.caps.Effective(set), err: err}
	if e.parsed == nil {
		e.parsed = map[string]parsedValue{}
	}
	e.parsed[key] = v
	return v.set, v.eff, v.err
}

// noEffect is why a directive does not decide anything and what applies
// instead.
type noEffect struct {
	msg string
	eff audit.ProtocolSet
}

// containers are sections in which SSLProtocol is not allowed (httpd:
// "not allowed here"); SSLProxyProtocol is allowed in <Proxy> from 2.4.30.
var containers = map[string]bool{"directory": true, "directorymatch": true, "location": true,
	"locationmatch": true, "files": true, "filesmatch": true, "if": true, "elseif": true,
	"else": true, "proxy": true, "proxymatch": true, "limit": true, "limitexcept": true}

func (e *evaluator) run() error {
	e.reach = map[*Directive][]reached{}
	e.noEffect = map[*Directive]noEffect{}
	// VHosts first, so directives can point at them.
	vidx := map[int]int{}
	for _, s := range e.cfg.Sections {
		if s.live && strings.EqualFold(s.Name, "VirtualHost") {
			vidx[s.Index] = len(e.a.VHosts)
			addrs := make([]string, 0, len(s.Args))
			for _, arg := range s.Args {
				addrs = append(addrs, normAddr(arg))
			}
			e.a.VHosts = append(e.a.VHosts, VHost{File: s.File, Line: s.Line, Addresses: addrs})
		}
	}
	e.vhosts = make([]scope, len(e.a.VHosts))
	for i := range e.vhosts {
		e.vhosts[i].vhost = &e.a.VHosts[i]
	}
	var listens []string
	var proxySections []*Directive
	for i := range e.cfg.Directives {
		d := &e.cfg.Directives[i]
		lname := strings.ToLower(d.Name)
		isProto := lname == "sslprotocol" || lname == "sslproxyprotocol"
		if !d.Active {
			if isProto {
				if m := enclosing(d, "macro"); m != nil {
					e.notes = append(e.notes, fmt.Sprintf("%s at %s:%d is inside <Macro %s> (%s:%d) and is not evaluated; check each Use of the macro",
						d.Name, d.File, d.Line, strings.Join(m.Args, " "), m.File, m.Line))
				}
			}
			continue
		}
		sc := &e.global
		if v := enclosing(d, "virtualhost"); v != nil {
			if k, ok := vidx[v.Index]; ok {
				sc = &e.vhosts[k]
				d.VHost = sc.vhost
			}
		}
		var inContainer *Section
		for j := range d.Sections {
			if containers[strings.ToLower(d.Sections[j].Name)] {
				inContainer = &d.Sections[j]
			}
		}
		switch lname {
		case "sslprotocol", "sslproxyprotocol":
			if inContainer != nil && !(lname == "sslproxyprotocol" && strings.HasPrefix(strings.ToLower(inContainer.Name), "proxy")) {
				return audit.Errorf(d.File, d.Line, "%s not allowed here (inside <%s>)", d.Name, inContainer.Name)
			}
			set, eff, err := e.parseProtocol(d)
			if err != nil {
				return audit.Errorf(d.File, d.Line, "%v", err)
			}
			d.Protocols, d.Effective = set, eff
			switch {
			case lname == "sslprotocol":
				sc.protocol = append(sc.protocol, d)
			case inContainer != nil:
				proxySections = append(proxySections, d)
			default:
				sc.proxyProtocol = append(sc.proxyProtocol, d)
			}
		case "sslengine":
			sc.engine = d
		case "sslproxyengine":
			sc.proxyEngine = d
		case "servername":
			if len(d.Args) > 0 {
				sc.serverName = d.Args[0]
			}
		case "sslciphersuite":
			sc.ciphers = append(sc.ciphers, strings.Join(d.Args, " "))
		case "sslopensslconfcmd":
			if len(d.Args) >= 2 {
				switch strings.ToLower(d.Args[0]) {
				case "cipherstring", "ciphersuites":
					sc.ciphers = append(sc.ciphers, d.Args[1])
				case "protocol", "minprotocol", "maxprotocol":
					sc.confCmds = append(sc.confCmds, d)
				}
			}
		case "use":
			if len(d.Args) > 0 {
				e.notes = append(e.notes, fmt.Sprintf("Use %s at %s:%d: macro expansions are not evaluated; virtual hosts or SSLProtocol lines they create are not audited",
					d.Args[0], d.File, d.Line))
			}
		case "listen":
			if len(d.Args) > 0 && sc == &e.global {
				listens = append(listens, normListen(d.Args[0]))
			}
		}
	}
	// Pointers into e.cfg.Directives are stable; copy protocol directives
	// into the analysis after evaluation (below).
	e.serve(listens)
	e.proxies(proxySections)
	if len(e.contexts) == 0 {
		if n := e.confNote(&e.global); n != "" {
			e.notes = append(e.notes, n)
		}
	}
	e.findings()
	for i := range e.cfg.Directives {
		d := &e.cfg.Directives[i]
		if l := strings.ToLower(d.Name); l == "sslprotocol" || l == "sslproxyprotocol" {
			e.a.Directives = append(e.a.Directives, *d)
		}
	}
	e.a.ServerWide = e.insertionPoint()
	return nil
}

func enclosing(d *Directive, name string) *Section {
	for i := len(d.Sections) - 1; i >= 0; i-- {
		if strings.EqualFold(d.Sections[i].Name, name) {
			return &d.Sections[i]
		}
	}
	return nil
}

// normAddr normalises a <VirtualHost> address: "_default_" and "*" are
// "*", a missing port is "*", IPv6 keeps its brackets.
func normAddr(s string) string {
	host, port := s, "*"
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i > 0 {
			host = s[:i+1]
			if rest := s[i+1:]; strings.HasPrefix(rest, ":") && len(rest) > 1 {
				port = rest[1:]
			}
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		host, port = s[:i], s[i+1:]
	}
	host = strings.ToLower(host)
	if host == "_default_" || host == "" {
		host = "*"
	}
	return host + ":" + port
}

// normListen normalises a Listen address ("443", "0.0.0.0:443", "[::]:443").
func normListen(s string) string {
	if !strings.Contains(s, ":") {
		return "*:" + s
	}
	return normAddr(s)
}

func loc(d *Directive) *audit.Location {
	if d == nil {
		return nil
	}
	return &audit.Location{File: d.File, Line: d.Line}
}

// setting is a resolved protocol value for one server.
type setting struct {
	eff    audit.ProtocolSet
	source audit.Source
	from   *Directive
}

func (e *evaluator) configured(sc *scope) setting {
	if d := sc.lastProtocol(); d != nil {
		return setting{d.Effective, audit.SourceDirective, d}
	}
	if d := e.global.lastProtocol(); d != nil {
		return setting{d.Effective, audit.SourceInherited, d}
	}
	return setting{e.caps.Effective(e.caps.Default()), audit.SourceDefault, nil}
}

// perServerSNI reports whether each vhost's own SSLProtocol applies to SNI
// clients: httpd >= 2.4.42 with OpenSSL >= 1.1.1 (not LibreSSL).
func (e *evaluator) perServerSNI() bool {
	if e.caps.HTTPD.Known() && !e.caps.HTTPD.AtLeast("2.4.42") {
		return false
	}
	l := e.caps.Library
	if l.Known() && (l.Flavor == openssl.FlavorLibreSSL || !l.SupportsTLS13()) {
		return false
	}
	return true
}

func (e *evaluator) addContext(c audit.Context, from *Directive, ciphers []string) {
	e.contexts = append(e.contexts, c)
	if from != nil {
		e.reach[from] = append(e.reach[from], reached{ctx: len(e.contexts) - 1, ciphers: ciphers})
	}
}

func (e *evaluator) ciphersFor(sc *scope) []string {
	if len(sc.ciphers) > 0 {
		return sc.ciphers
	}
	return e.global.ciphers
}

func (e *evaluator) confNote(sc *scope) string {
	cmds := sc.confCmds
	if len(cmds) == 0 {
		cmds = e.global.confCmds
	}
	var parts []string
	for _, d := range cmds {
		parts = append(parts, fmt.Sprintf("SSLOpenSSLConfCmd %s at %s:%d also limits protocols (not evaluated)",
			strings.Join(d.Args, " "), d.File, d.Line))
	}
	return strings.Join(parts, "; ")
}

// serve builds the TLS-serving contexts: vhosts with SSLEngine on (their
// own or the server-wide one), grouped per address for the SNI caveat, and
// the main server when it has SSLEngine on.
func (e *evaluator) serve(listens []string) {
	perSNI := e.perServerSNI()
	if perSNI {
		e.notes = append(e.notes, "each virtual host's own SSLProtocol applies to SNI clients (httpd 2.4.42+ with OpenSSL 1.1.1+); clients without SNI get the first virtual host's protocols on each address")
	} else {
		e.notes = append(e.notes, "the first virtual host on each address decides the protocols for all virtual hosts there (httpd before 2.4.42 or OpenSSL before 1.1.1)")
	}
	type member struct {
		vh int
		s  setting
	}
	groups := map[string][]member{}
	var order []string
	globalEngine := e.global.engine
	for i := range e.vhosts {
		sc := &e.vhosts[i]
		vh := sc.vhost
		vh.ServerName = sc.serverName
		eng := sc.engine
		if eng == nil {
			eng = globalEngine
		}
		vh.SSLEngine = on(eng)
		vh.Protocol = sc.lastProtocol()
		vh.ProxyProtocol = sc.lastProxyProtocol()
		if !vh.SSLEngine {
			continue
		}
		s := e.configured(sc)
		for _, addr := range vh.Addresses {
			if _, ok := groups[addr]; !ok {
				order = append(order, addr)
			}
			groups[addr] = append(groups[addr], member{i, s})
		}
	}
	// Per (vhost, address) settings.
	got := map[int][]setting{}
	for _, addr := range order {
		ms := groups[addr]
		base := ms[0]
		bvh := e.vhosts[base.vh].vhost
		e.a.Listeners = append(e.a.Listeners, Listener{Address: addr, Effective: base.s.eff,
			BaseFile: bvh.File, BaseLine: bvh.Line})
		got[base.vh] = append(got[base.vh], base.s)
		for _, m := range ms[1:] {
			sc := &e.vhosts[m.vh]
			own := sc.lastProtocol()
			s := m.s
			switch {
			case !perSNI:
				if own != nil && own.Effective != base.s.eff {
					e.noEffect[own] = noEffect{fmt.Sprintf("%s at %s:%d has no effect: the first virtual host on %s (%s:%d) decides the protocols (%s) before httpd 2.4.42 / OpenSSL 1.1.1",
						own.Name, own.File, own.Line, addr, bvh.File, bvh.Line, base.s.eff), base.s.eff}
				}
				s = base.s
				if s.source == audit.SourceDirective {
					s.source = audit.SourceInherited
				}
			case own == nil && e.global.lastProtocol() == nil:
				// 2.4.42+: no own and no global value: the base vhost's.
				s = base.s
				if s.source == audit.SourceDirective {
					s.source = audit.SourceInherited
				}
			}
			got[m.vh] = append(got[m.vh], s)
		}
	}
	for i := range e.vhosts {
		sc := &e.vhosts[i]
		vh := sc.vhost
		ss := got[i]
		if len(ss) == 0 {
			continue
		}
		var eff audit.ProtocolSet
		for _, s := range ss {
			eff = eff.Union(s.eff)
		}
		vh.Effective, vh.Source, vh.From = eff, ss[0].source, loc(ss[0].from)
		name := vh.ServerName
		if name == "" {
			name = strings.Join(vh.Addresses, " ")
		}
		e.addContext(audit.Context{File: vh.File, Line: vh.Line, Kind: "virtualhost", Name: name,
			Listen: vh.Addresses, Protocols: eff, Source: vh.Source, From: vh.From, Note: e.confNote(sc)},
			ss[0].from, e.ciphersFor(sc))
	}
	if on(globalEngine) {
		covered := map[string]bool{}
		for _, l := range e.a.Listeners {
			covered[l.Address] = true
		}
		var ls []string
		for _, l := range listens {
			if !covered[l] {
				ls = append(ls, l)
			}
		}
		s := e.configured(&e.global)
		name := e.global.serverName
		if name == "" {
			name = "main server"
		}
		e.addContext(audit.Context{File: globalEngine.File, Line: globalEngine.Line, Kind: "main server", Name: name,
			Listen: ls, Protocols: s.eff, Source: s.source, From: loc(s.from), Note: e.confNote(&e.global)},
			s.from, e.global.ciphers)
	}
}

// proxies builds the contexts for httpd's outgoing TLS (SSLProxyProtocol):
// each server with SSLProxyEngine on or its own SSLProxyProtocol, and each
// <Proxy> section with one.
func (e *evaluator) proxies(inSections []*Directive) {
	def := e.caps.Effective(e.caps.Default())
	add := func(sc *scope, file string, line int, name string, listen []string) {
		own := sc.lastProxyProtocol()
		if !on(sc.proxyEngine) && own == nil && !(sc != &e.global && on(e.global.proxyEngine)) {
			return
		}
		s := setting{def, audit.SourceDefault, nil}
		if own != nil {
			s = setting{own.Effective, audit.SourceDirective, own}
		} else if g := e.global.lastProxyProtocol(); g != nil {
			s = setting{g.Effective, audit.SourceInherited, g}
		}
		e.addContext(audit.Context{File: file, Line: line, Kind: "proxy", Name: name, Listen: listen,
			Protocols: s.eff, Source: s.source, From: loc(s.from)}, s.from, e.ciphersFor(sc))
	}
	for i := range e.vhosts {
		sc := &e.vhosts[i]
		name := sc.vhost.ServerName
		if name == "" {
			name = strings.Join(sc.vhost.Addresses, " ")
		}
		add(sc, sc.vhost.File, sc.vhost.Line, name, sc.vhost.Addresses)
	}
	if d := e.global.proxyEngine; d != nil || e.global.lastProxyProtocol() != nil {
		f, l := e.a.Main, 0
		if d != nil {
			f, l = d.File, d.Line
		} else if g := e.global.lastProxyProtocol(); g != nil {
			f, l = g.File, g.Line
		}
		add(&e.global, f, l, "main server", nil)
	}
	for _, d := range inSections {
		sec := enclosing(d, "proxy")
		if sec == nil {
			sec = enclosing(d, "proxymatch")
		}
		if sec == nil {
			continue
		}
		e.addContext(audit.Context{File: sec.File, Line: sec.Line, Kind: "proxy", Name: strings.Join(sec.Args, " "),
			Protocols: d.Effective, Source: audit.SourceDirective, From: loc(d)}, d, nil)
	}
}

func (e *evaluator) affects(rs []reached) []audit.Affect {
	out := []audit.Affect{}
	for _, r := range rs {
		c := e.contexts[r.ctx]
		out = append(out, audit.Affect{File: c.File, Line: c.Line, Name: c.Name})
	}
	return out
}

// legacySeverity applies the severity rules: SSLv2/SSLv3 critical, TLS
// 1.0/1.1 high, only TLS 1.2 (policy 1.3) medium; TLS 1.0/1.1 drop to
// medium when OpenSSL 3 refuses them at its security level in every context
// the setting reaches.
func (e *evaluator) legacySeverity(legacy audit.ProtocolSet, cipherSets [][]string) (audit.Severity, string) {
	switch {
	case legacy.Has(audit.SSLv2) || legacy.Has(audit.SSLv3):
		return audit.Critical, ""
	case legacy.Has(audit.TLS10) || legacy.Has(audit.TLS11):
		blocked := e.caps.Library.Known()
		for _, cs := range cipherSets {
			if !openssl.LegacyBlocked(e.caps.Library, cs...) {
				blocked = false
			}
		}
		if blocked {
			return audit.Medium, "; configured but refused by OpenSSL 3 at security level >= 1; one @SECLEVEL=0 turns it back on"
		}
		return audit.High, ""
	}
	return audit.Medium, ""
}

func (e *evaluator) findings() {
	floor := e.policy.MinProtocol
	if floor == 0 {
		floor = audit.TLS12
	}
	add := func(f audit.Finding) { e.a.Findings = append(e.a.Findings, f) }
	// Overridden directives (the last one in a context wins).
	for _, sc := range append([]*scope{&e.global}, ptrs(e.vhosts)...) {
		for _, list := range [][]*Directive{sc.protocol, sc.proxyProtocol} {
			for _, d := range list[:max(0, len(list)-1)] {
				lastD := list[len(list)-1]
				e.noEffect[d] = noEffect{fmt.Sprintf("%s at %s:%d has no effect: the later %s at %s:%d in the same context wins",
					d.Name, d.File, d.Line, lastD.Name, lastD.File, lastD.Line), lastD.Effective}
			}
		}
	}
	for i := range e.cfg.Directives {
		d := &e.cfg.Directives[i]
		l := strings.ToLower(d.Name)
		if !d.Active || (l != "sslprotocol" && l != "sslproxyprotocol") {
			continue
		}
		rs := e.reach[d]
		if ne, ok := e.noEffect[d]; ok {
			f := audit.NewFinding(audit.RuleDirectiveNoEffect, audit.KindApache, audit.Location{File: d.File, Line: d.Line}, ne.eff, ne.msg)
			f.Fixable = true
			if vh := d.VHost; vh != nil {
				f.Affects = []audit.Affect{{File: vh.File, Line: vh.Line, Name: vh.ServerName}}
			}
			add(f)
			continue
		}
		if d.Effective != d.Protocols {
			e.notes = append(e.notes, fmt.Sprintf("%s at %s:%d configures %s; httpd allows no holes between the newest and oldest version, so the effective set is %s",
				d.Name, d.File, d.Line, d.Protocols, d.Effective))
		}
		where := ""
		if len(rs) == 0 {
			where = " (no TLS virtual host uses it now)"
		}
		var ciphers [][]string
		for _, r := range rs {
			ciphers = append(ciphers, r.ciphers)
		}
		if len(rs) == 0 {
			ciphers = append(ciphers, e.global.ciphers)
		}
		dloc := audit.Location{File: d.File, Line: d.Line}
		if legacy := d.Effective.Below(floor); !legacy.Empty() {
			sev, why := e.legacySeverity(legacy, ciphers)
			f := audit.NewFinding(audit.RuleLegacyEnabled, audit.KindApache, dloc, legacy,
				fmt.Sprintf("%s %s enables %s%s%s", d.Name, strings.Join(d.Args, " "), legacy, where, why))
			f.Severity, f.Fixable, f.Affects = sev, true, e.affects(rs)
			add(f)
		}
		if floor <= audit.TLS12 && !d.Effective.Has(audit.TLS12) {
			f := audit.NewFinding(audit.RuleTLS12Missing, audit.KindApache, dloc, d.Effective,
				fmt.Sprintf("%s %s leaves TLS 1.2 off (effective: %s)%s", d.Name, strings.Join(d.Args, " "), d.Effective, where))
			f.Fixable, f.Affects = true, e.affects(rs)
			add(f)
		}
		if e.caps.HasTLS13() && !d.Effective.Has(audit.TLS13) {
			f := audit.NewFinding(audit.RuleTLS13Available, audit.KindApache, dloc, d.Effective,
				fmt.Sprintf("%s %s leaves TLS 1.3 off although httpd and OpenSSL support it%s", d.Name, strings.Join(d.Args, " "), where))
			f.Fixable, f.Affects = true, e.affects(rs)
			add(f)
		}
	}
	for i, c := range e.contexts {
		if c.Source != audit.SourceDefault {
			continue
		}
		ctxLoc := audit.Location{File: c.File, Line: c.Line}
		aff := []audit.Affect{{File: c.File, Line: c.Line, Name: c.Name}}
		if legacy := c.Protocols.Below(floor); !legacy.Empty() {
			sev, why := e.legacySeverity(legacy, [][]string{e.contextCiphers(i)})
			f := audit.NewFinding(audit.RuleLegacyDefault, audit.KindApache, ctxLoc, legacy,
				fmt.Sprintf("%s has no %s; httpd's default enables %s%s", describe(c), directiveFor(c), legacy, why))
			f.Severity, f.Fixable, f.Affects = sev, true, aff
			add(f)
		}
		if e.caps.HasTLS13() && !c.Protocols.Has(audit.TLS13) {
			f := audit.NewFinding(audit.RuleTLS13Available, audit.KindApache, ctxLoc, c.Protocols,
				fmt.Sprintf("%s has no %s and httpd's default leaves TLS 1.3 off", describe(c), directiveFor(c)))
			f.Fixable, f.Affects = true, aff
			add(f)
		}
	}
}

// contextCiphers returns the cipher strings of the server behind context i.
func (e *evaluator) contextCiphers(i int) []string {
	c := e.contexts[i]
	for k := range e.vhosts {
		if vh := e.vhosts[k].vhost; vh.File == c.File && vh.Line == c.Line {
			return e.ciphersFor(&e.vhosts[k])
		}
	}
	return e.global.ciphers
}

func ptrs(s []scope) []*scope {
	out := make([]*scope, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}

// insertionPoint finds where a server-wide SSLProtocol is or would go.
func (e *evaluator) insertionPoint() InsertionPoint {
	if d := e.global.lastProtocol(); d != nil {
		return InsertionPoint{Kind: InsertReplace, File: d.File, Line: d.Line}
	}
	for i := range e.cfg.Directives {
		d := &e.cfg.Directives[i]
		if !d.Active || d.VHost != nil || !strings.HasPrefix(strings.ToLower(d.Name), "ssl") {
			continue
		}
		for j := len(d.Sections) - 1; j >= 0; j-- {
			s := d.Sections[j]
			if strings.EqualFold(s.Name, "IfModule") && len(s.Args) > 0 {
				m := strings.TrimPrefix(s.Args[0], "!")
				if !strings.HasPrefix(s.Args[0], "!") && moduleID(m) == "ssl_module" {
					return InsertionPoint{Kind: InsertInSection, File: s.File, Line: s.Line}
				}
			}
		}
	}
	return InsertionPoint{Kind: InsertAtEnd, File: e.a.Main, Line: e.cfg.lines[e.a.Main]}
}

// describe names a context for messages.
func describe(c audit.Context) string {
	switch c.Kind {
	case "main server":
		return "the main server"
	case "proxy":
		return "proxy connections of " + c.Name
	}
	return "virtual host " + c.Name
}

func directiveFor(c audit.Context) string {
	if c.Kind == "proxy" {
		return "SSLProxyProtocol"
	}
	return "SSLProtocol"
}
