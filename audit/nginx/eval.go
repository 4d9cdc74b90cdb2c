package nginx

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// Directive names this package evaluates.
const (
	dSSLProtocols   = "ssl_protocols"
	dProxyProtocols = "proxy_ssl_protocols"
	dGRPCProtocols  = "grpc_ssl_protocols"
	dUWSGIProtocols = "uwsgi_ssl_protocols"
	dConfCommand    = "ssl_conf_command"
)

// cipherDirective is the cipher-list directive that goes with each protocol
// directive.
var cipherDirective = map[string]string{
	dSSLProtocols:   "ssl_ciphers",
	dProxyProtocols: "proxy_ssl_ciphers",
	dGRPCProtocols:  "grpc_ssl_ciphers",
	dUWSGIProtocols: "uwsgi_ssl_ciphers",
}

// confCommandDirective is the ssl_conf_command family member for each
// protocol directive.
var confCommandDirective = map[string]string{
	dSSLProtocols:   dConfCommand,
	dProxyProtocols: "proxy_ssl_conf_command",
	dGRPCProtocols:  "grpc_ssl_conf_command",
	dUWSGIProtocols: "uwsgi_ssl_conf_command",
}

func isProtocolDirective(name string) bool {
	switch name {
	case dSSLProtocols, dProxyProtocols, dGRPCProtocols, dUWSGIProtocols:
		return true
	}
	return false
}

// allowedHere reports whether nginx accepts a protocol directive in the
// block path (ngx_command_t contexts of the http/stream/mail ssl, proxy,
// grpc and uwsgi modules).
func allowedHere(name string, p []string) bool {
	if len(p) == 0 {
		return false
	}
	mod := p[0]
	top := len(p) == 1
	srv := len(p) == 2 && p[1] == "server"
	loc := len(p) >= 3 && p[1] == "server"
	for _, b := range p[min(2, len(p)):] {
		if b != "location" {
			loc = false
		}
	}
	switch name {
	case dSSLProtocols:
		return (mod == "http" || mod == "stream" || mod == "mail") && (top || srv)
	case dProxyProtocols:
		return (mod == "http" && (top || srv || loc)) || (mod == "stream" && (top || srv))
	case dGRPCProtocols, dUWSGIProtocols:
		return mod == "http" && (top || srv || loc)
	}
	return false
}

// setting is the value of one protocol directive at one level: every line
// in that block OR-ed, as ngx_conf_set_bitmask_slot does.
type setting struct {
	set   audit.ProtocolSet
	dirs  []int
	first audit.Location
}

type confCmd struct {
	name, value string
	loc         audit.Location
}

// level is what one block (http, server, location ...) sets itself.
type level struct {
	protos   map[string]*setting
	ciphers  map[string]string
	confCmds map[string][]confCmd
	ssl      string // "ssl on|off" (http, mail)
	proxySSL string // stream "proxy_ssl on|off"
	starttls string // mail "starttls on|off|only"
}

// chain is the levels from the module block inwards.
type chain []*level

func (c chain) protocols(name string) (*setting, int) {
	for i := len(c) - 1; i >= 0; i-- {
		if s := c[i].protos[name]; s != nil {
			return s, i
		}
	}
	return nil, -1
}

func (c chain) cipher(name string) string {
	for i := len(c) - 1; i >= 0; i-- {
		if v, ok := c[i].ciphers[name]; ok {
			return v
		}
	}
	return ""
}

// confCmds follows nginx's array merge: the innermost level that has any
// ssl_conf_command wins as a whole.
func (c chain) confCmds(name string) []confCmd {
	for i := len(c) - 1; i >= 0; i-- {
		if v := c[i].confCmds[name]; len(v) > 0 {
			return v
		}
	}
	return nil
}

func (c chain) flag(get func(*level) string) string {
	for i := len(c) - 1; i >= 0; i-- {
		if v := get(c[i]); v != "" {
			return v
		}
	}
	return ""
}

// listenSpec is one listen directive of a server.
type listenSpec struct {
	key  string // module|address, the nginx address:port identity
	addr string // normalised "host:port" (+ "/quic")
	port int
	ssl  bool
	def  bool
}

// srv is a server block under evaluation.
type srv struct {
	module  string
	loc     audit.Location
	names   []string
	listens []listenSpec
	sslOn   bool
	chain   chain
}

type evaluator struct {
	env     *audit.Env
	d       *discovery
	a       *Analysis
	min     audit.Protocol
	deflt   audit.ProtocolSet
	servers []*srv
	proxies []*proxyCtx
	ctxs    []*tctx
	// dirCiphers are the cipher strings in force where each directive
	// (by index) sits, for directives that reach no context.
	dirCiphers [][]string
	err        error
}

type proxyCtx struct {
	Proxy
	chain chain
}

func evaluate(env *audit.Env, d *discovery, t *tree) (*Analysis, error) {
	a := &Analysis{
		Found: true, Main: t.main, Binary: d.bin, Version: d.version, VersionAssumed: d.assumed,
		Library: d.lib, LibraryPath: d.libPath, Files: t.files,
	}
	a.SNIPerServer = SNIPerServer(d.version, d.lib)
	min := env.Policy.MinProtocol
	if min != audit.TLS13 {
		min = audit.TLS12
	}
	e := &evaluator{env: env, d: d, a: a, min: min, deflt: DefaultProtocols(d.version)}
	e.block(t.top, nil, audit.Location{}, nil, nil)
	if e.err != nil {
		return nil, e.err
	}
	e.servers2()
	e.findings()
	e.component()
	if d.lib.Known() {
		lib := openssl.Library{Version: d.lib, Path: d.libPath}
		c, fs := openssl.LibraryReport(lib, "nginx", env.Now())
		a.LibraryComponent = &c
		a.LibraryFindings = fs
	}
	return a, nil
}

// flat expands include nodes in place: an included file's directives belong
// to the block of the include.
func flat(nodes []*node) []*node {
	need := false
	for _, n := range nodes {
		if n.name == "include" && !n.isBlock && !n.mapParam {
			need = true
			break
		}
	}
	if !need {
		return nodes
	}
	out := make([]*node, 0, len(nodes))
	for _, n := range nodes {
		if n.name == "include" && !n.isBlock && !n.mapParam {
			out = append(out, flat(n.children)...)
			continue
		}
		out = append(out, n)
	}
	return out
}

func loc(n *node) audit.Location { return audit.Location{File: n.file, Line: n.line} }

// block evaluates one block: first everything it sets itself (nginx merges
// after reading the whole block, so a directive after a nested server
// still applies to it), then its nested blocks.
func (e *evaluator) block(nodes []*node, path []string, at audit.Location, args []string, parent chain) {
	if e.err != nil {
		return
	}
	items := flat(nodes)
	start := len(e.a.Directives)
	lvl := e.collect(items, path, at)
	if e.err != nil {
		return
	}
	c := append(parent[:len(parent):len(parent)], lvl)
	for i := start; i < len(e.a.Directives); i++ {
		e.dirCiphers = append(e.dirCiphers, ciphersFor(c, e.a.Directives[i].Name))
	}
	if len(path) == 2 && path[1] == "server" && (path[0] == "http" || path[0] == "stream" || path[0] == "mail") {
		e.server(items, path[0], at, c)
	}
	if len(path) >= 3 && path[0] == "http" && path[1] == "server" && path[len(path)-1] == "location" {
		e.location(items, at, strings.TrimSpace("location "+strings.Join(args, " ")), c)
	}
	for _, n := range items {
		if !n.isBlock || n.mapParam {
			continue
		}
		// Only http, stream and mail at the top level matter; other
		// blocks are still walked so that a misplaced protocol
		// directive is an error, as it is for nginx.
		e.block(n.children, append(path[:len(path):len(path)], n.name), loc(n), n.args, c)
		if e.err != nil {
			return
		}
		if len(path) == 0 && (n.name == "http" || n.name == "stream" || n.name == "mail") {
			e.a.TopBlocks = append(e.a.TopBlocks, Block{Name: n.name, File: n.file, Line: n.line})
		}
	}
}

// collect reads the directives a block sets itself.
func (e *evaluator) collect(items []*node, path []string, at audit.Location) *level {
	lvl := &level{}
	for _, n := range items {
		if n.mapParam || n.isBlock {
			continue
		}
		switch {
		case isProtocolDirective(n.name):
			if !allowedHere(n.name, path) {
				e.err = audit.Errorf(n.file, n.line, "%q directive is not allowed here", n.name)
				return nil
			}
			set, err := e.tokens(n)
			if err != nil {
				e.err = err
				return nil
			}
			idx := len(e.a.Directives)
			e.a.Directives = append(e.a.Directives, ProtocolDirective{
				Name: n.name, File: n.file, Line: n.line, Ordinal: n.ordinal, Args: n.args, Protocols: set,
				Context: append([]string(nil), path...), BlockFile: at.File, BlockLine: at.Line,
			})
			if lvl.protos == nil {
				lvl.protos = map[string]*setting{}
			}
			s := lvl.protos[n.name]
			if s == nil {
				s = &setting{first: loc(n)}
				lvl.protos[n.name] = s
			}
			s.set = s.set.Union(set)
			s.dirs = append(s.dirs, idx)
		case n.name == "ssl_ciphers" || n.name == "proxy_ssl_ciphers" || n.name == "grpc_ssl_ciphers" || n.name == "uwsgi_ssl_ciphers":
			if len(n.args) > 0 {
				if lvl.ciphers == nil {
					lvl.ciphers = map[string]string{}
				}
				lvl.ciphers[n.name] = n.args[0]
			}
		case n.name == dConfCommand || strings.HasSuffix(n.name, "_ssl_conf_command"):
			if len(n.args) == 2 {
				if lvl.confCmds == nil {
					lvl.confCmds = map[string][]confCmd{}
				}
				lvl.confCmds[n.name] = append(lvl.confCmds[n.name], confCmd{name: n.args[0], value: n.args[1], loc: loc(n)})
			}
		case n.name == "ssl" && len(n.args) == 1:
			lvl.ssl = strings.ToLower(n.args[0])
		case n.name == "proxy_ssl" && len(n.args) == 1:
			lvl.proxySSL = strings.ToLower(n.args[0])
		case n.name == "starttls" && len(n.args) == 1:
			lvl.starttls = strings.ToLower(n.args[0])
		}
	}
	return lvl
}

// tokens validates a protocol directive's arguments like nginx does.
func (e *evaluator) tokens(n *node) (audit.ProtocolSet, error) {
	var set audit.ProtocolSet
	if len(n.args) == 0 {
		return 0, audit.Errorf(n.file, n.line, "invalid number of arguments in %q directive", n.name)
	}
	for _, a := range n.args {
		p, ok := nginxToken(a)
		if !ok {
			return 0, audit.Errorf(n.file, n.line, "invalid value %q in %q directive", a, n.name)
		}
		// nginx before 1.13.0 has no TLSv1.3 token and refuses to start.
		if p == audit.TLS13 && !e.d.assumed && !e.d.version.AtLeast("1.13.0") {
			return 0, audit.Errorf(n.file, n.line, "invalid value %q in %q directive: nginx %s predates TLSv1.3 (1.13.0)", a, n.name, e.d.version)
		}
		set = set.With(p)
	}
	return set, nil
}

// server records a server block of http, stream or mail.
func (e *evaluator) server(items []*node, module string, at audit.Location, c chain) {
	s := &srv{module: module, loc: at, chain: c}
	for _, n := range items {
		if n.mapParam || n.isBlock {
			continue
		}
		switch n.name {
		case "server_name":
			s.names = append(s.names, n.args...)
		case "listen":
			if len(n.args) == 0 {
				continue
			}
			l := parseListen(module, n.args)
			s.listens = append(s.listens, l)
		}
	}
	if len(s.listens) == 0 && module == "http" {
		// nginx's implicit listen (80 when run as root).
		s.listens = append(s.listens, listenSpec{key: "http|*:80", addr: "*:80", port: 80})
	}
	s.sslOn = c.flag(func(l *level) string { return l.ssl }) == "on"
	if module == "mail" {
		st := c.flag(func(l *level) string { return l.starttls })
		if st == "on" || st == "only" {
			s.sslOn = true
		}
	}
	e.servers = append(e.servers, s)
	if module == "stream" && c.flag(func(l *level) string { return l.proxySSL }) == "on" {
		for _, n := range items {
			if n.name == "proxy_pass" && len(n.args) > 0 && !n.isBlock {
				e.addProxy(dProxyProtocols, "stream", at, "server "+listenNames(s), n.args[0], c)
				break
			}
		}
	}
}

func listenNames(s *srv) string {
	var a []string
	for _, l := range s.listens {
		a = append(a, l.addr)
	}
	return strings.Join(a, " ")
}

// location finds TLS upstreams in a location: proxy_pass https://,
// grpc_pass grpcs://, uwsgi_pass suwsgi://, also inside if and
// limit_except.
func (e *evaluator) location(items []*node, at audit.Location, name string, c chain) {
	seen := map[string]bool{}
	var scan func(items []*node)
	scan = func(items []*node) {
		for _, n := range items {
			if n.mapParam {
				continue
			}
			if n.isBlock {
				if n.name == "if" || n.name == "limit_except" {
					scan(flat(n.children))
				}
				continue
			}
			if len(n.args) == 0 {
				continue
			}
			target := strings.ToLower(n.args[0])
			var dir string
			switch {
			case n.name == "proxy_pass" && strings.HasPrefix(target, "https://"):
				dir = dProxyProtocols
			case n.name == "grpc_pass" && strings.HasPrefix(target, "grpcs://"):
				dir = dGRPCProtocols
			case n.name == "uwsgi_pass" && strings.HasPrefix(target, "suwsgi://"):
				dir = dUWSGIProtocols
			}
			if dir != "" && !seen[dir] {
				seen[dir] = true
				e.addProxy(dir, "http", at, name, n.args[0], c)
			}
		}
	}
	scan(items)
}

func (e *evaluator) addProxy(dir, module string, at audit.Location, name, target string, c chain) {
	p := &proxyCtx{chain: c}
	p.Directive, p.Module, p.File, p.Line, p.Name, p.Target = dir, module, at.File, at.Line, name, target
	set, lvl := c.protocols(dir)
	switch {
	case set == nil:
		p.Protocols, p.Source = e.deflt, audit.SourceDefault
	default:
		p.Protocols, p.Directives = set.set, set.dirs
		f := set.first
		p.From = &f
		p.Source = audit.SourceInherited
		if lvl == len(c)-1 {
			p.Source = audit.SourceDirective
		}
	}
	if v := c.cipher(cipherDirective[dir]); v != "" {
		p.Ciphers = append(p.Ciphers, v)
	}
	for _, cc := range c.confCmds(confCommandDirective[dir]) {
		if strings.EqualFold(cc.name, "CipherString") {
			p.Ciphers = append(p.Ciphers, cc.value)
		}
	}
	e.proxies = append(e.proxies, p)
}

// parseListen normalises a listen directive's address: "443" -> "*:443",
// "0.0.0.0:443" -> "*:443", "[::]:443" stays, "host" -> "host:80" (http).
func parseListen(module string, args []string) listenSpec {
	addr := args[0]
	l := listenSpec{}
	quic := false
	for _, p := range args[1:] {
		switch strings.ToLower(p) {
		case "ssl":
			l.ssl = true
		case "quic":
			quic = true
		case "default_server", "default":
			l.def = true
		}
	}
	host, port := splitHostPort(addr, module)
	l.port = port
	switch {
	case strings.HasPrefix(addr, "unix:"):
		l.addr = addr
	default:
		if host == "" || host == "*" || host == "0.0.0.0" {
			host = "*"
		}
		l.addr = host + ":" + strconv.Itoa(port)
	}
	if quic {
		// QUIC is a UDP socket, separate from the TCP one on the same
		// port, and always TLS (1.3).
		l.addr += "/quic"
		l.ssl = true
	}
	l.key = module + "|" + strings.ToLower(l.addr)
	return l
}

func splitHostPort(addr, module string) (string, int) {
	if strings.HasPrefix(addr, "unix:") {
		return addr, 0
	}
	if strings.HasPrefix(addr, "[") {
		end := strings.Index(addr, "]")
		if end < 0 {
			return addr, 0
		}
		host := addr[:end+1]
		rest := addr[end+1:]
		if strings.HasPrefix(rest, ":") {
			p, _ := strconv.Atoi(rest[1:])
			return host, p
		}
		return host, defaultPort(module)
	}
	if p, err := strconv.Atoi(addr); err == nil {
		return "*", p
	}
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		p, _ := strconv.Atoi(addr[i+1:])
		return addr[:i], p
	}
	return addr, defaultPort(module)
}

func defaultPort(module string) int {
	if module == "http" {
		return 80
	}
	return 0
}

// describe names a server for messages and affects.
func (s *srv) describe(tlsAddrs []string) string {
	name := s.module + " server"
	if len(s.names) > 0 {
		name += " " + strings.Join(s.names, " ")
	}
	if len(tlsAddrs) > 0 {
		name += " (" + strings.Join(tlsAddrs, " ") + ")"
	}
	return name
}

func fmtLoc(l audit.Location) string { return fmt.Sprintf("%s:%d", l.File, l.Line) }
