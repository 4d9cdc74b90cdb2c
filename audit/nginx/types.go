// Package nginx audits the TLS protocol versions an nginx configuration
// allows. It finds the binary and main config (flags, `nginx -V`, well-known
// paths), parses the config with nginx-go-crossplane through platform.FS,
// computes the effective ssl_protocols (and proxy_/grpc_/uwsgi_ssl_protocols)
// per TLS context with nginx's inheritance, OR-ing and version-dependent
// defaults, applies the default-server (SNI) caveat per listen address, and
// turns the result into audit findings.
//
// It is the only package that imports crossplane. It must not import cmd/ or
// remediate/; the fixer imports it (Analyze, ParseDirectives).
package nginx

import (
	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// Analysis is everything the audit learned about one nginx installation. The
// fixer plans its edits from it, so its fields are a stable API.
type Analysis struct {
	// Found is false when neither an nginx binary nor a config was found;
	// Component then has status not-found and notes saying what was looked
	// for, and every other field is empty.
	Found bool
	// Main is the host path of the main config file.
	Main string
	// Binary is the nginx binary used (host path), "" if none was found.
	Binary string
	// Version is nginx's version: --nginx-version, else `nginx -v`/`-V`.
	// When unknown, VersionAssumed is true and Version is zero; defaults
	// are then the oldest ones (SSLv3 TLSv1 TLSv1.1 TLSv1.2).
	Version        audit.ServerVersion
	VersionAssumed bool
	// Library is the TLS library nginx runs with (zero if unknown):
	// "running with" from nginx -V, else the linked libcrypto, else "built
	// with". LibraryPath is where it was read from ("" for nginx -V).
	Library     openssl.Version
	LibraryPath string
	// SNIPerServer is true when each server's own ssl_protocols applies
	// (nginx >= 1.29.2 with OpenSSL >= 1.1.1); false means the default
	// server of each listen address decides the protocols.
	SNIPerServer bool
	// Files is every config file parsed (host paths), main first, in
	// include order.
	Files []string
	// Directives is every *_protocols directive reachable from Main, in
	// walk order: a block's own directives (includes expanded in place)
	// before those of its nested blocks. A file included twice yields its
	// directives twice, once per include site (same File/Line/Ordinal,
	// possibly different Context); findings are reported once per
	// File/Line/Ordinal.
	Directives []ProtocolDirective
	// TopBlocks are the http, stream and mail blocks.
	TopBlocks []Block
	// Servers are the TLS-serving server blocks (http, stream, mail).
	Servers []Server
	// Proxies are the places nginx originates TLS to an upstream
	// (proxy_pass https://, grpc_pass grpcs://, uwsgi_pass suwsgi://, stream
	// proxy_ssl on).
	Proxies []Proxy
	// Listeners are the unique TLS listen addresses per module, in the
	// order they are first declared.
	Listeners []Listener
	// Component and Findings are the nginx part of the report.
	Component audit.Component
	Findings  []audit.Finding
	// LibraryComponent and LibraryFindings come from openssl.LibraryReport
	// when Library is known; Scan appends them to the result.
	LibraryComponent *audit.Component
	LibraryFindings  []audit.Finding
}

// ProtocolDirective is one ssl_protocols, proxy_ssl_protocols,
// grpc_ssl_protocols or uwsgi_ssl_protocols directive.
type ProtocolDirective struct {
	// Name is the directive name as written (lower case in valid configs).
	Name string
	// File and Line locate the directive; Ordinal is its 0-based position
	// among the directives that start on that line of that file (several
	// directives can share a line).
	File    string
	Line    int
	Ordinal int
	// Args are the arguments as crossplane returns them (quotes removed).
	Args []string
	// Protocols is the set the arguments name.
	Protocols audit.ProtocolSet
	// Context is the block path, e.g. ["http", "server"], ["stream"],
	// ["http", "server", "location"].
	Context []string
	// BlockFile and BlockLine locate the opening line of the enclosing
	// block (the server, location, http ... directive).
	BlockFile string
	BlockLine int
	// Findings are the rule IDs reported for this directive.
	Findings []audit.RuleID
}

// Block is an opening directive of a block: http, stream, mail.
type Block struct {
	Name string
	File string
	Line int
}

// Server is one TLS-serving server block.
type Server struct {
	// Module is "http", "stream" or "mail"; Kind the report's context kind
	// ("http server", "stream server", "mail server").
	Module string
	Kind   string
	// File and Line are the server block's opening line.
	File string
	Line int
	// Names are the server_name arguments.
	Names []string
	// Listen are the normalised TLS listen addresses ("*:443",
	// "127.0.0.1:8443", "[::]:443"); a quic listen gets a "/quic" suffix
	// ("*:443/quic") because it is a different (UDP) socket.
	Listen []string
	// Default is true when the server is the default server for at least
	// one of its TLS listen addresses.
	Default bool
	// Configured is what this server's own configuration yields: its
	// ssl_protocols lines OR-ed, else the inherited set, else the built-in
	// default. Source and From say which (From is nil for a default).
	Configured audit.ProtocolSet
	Source     audit.Source
	From       *audit.Location
	// Effective is what clients can negotiate per the configuration: equal
	// to Configured, except when SNIPerServer is false and another server
	// is the default server of its listen address (then that server's
	// Configured set applies). EffectiveSource/EffectiveFrom describe the
	// deciding set; DecidedBy is the deciding default server (nil when the
	// server decides itself).
	Effective       audit.ProtocolSet
	EffectiveSource audit.Source
	EffectiveFrom   *audit.Location
	DecidedBy       *audit.Location
	// Directives are indexes into Analysis.Directives of the server's own
	// ssl_protocols lines.
	Directives []int
	// Ciphers are the cipher strings in force (ssl_ciphers and
	// ssl_conf_command CipherString), used to decide whether OpenSSL 3
	// refuses legacy protocols.
	Ciphers []string
	// Notes explain anything unusual (SNI caveat, ssl_conf_command).
	Notes []string
}

// Proxy is a place where nginx connects to an upstream over TLS.
type Proxy struct {
	// Directive is the protocol directive that governs it:
	// proxy_ssl_protocols, grpc_ssl_protocols or uwsgi_ssl_protocols.
	Directive string
	// Module is "http" or "stream".
	Module string
	// File and Line are the opening line of the enclosing location (or
	// server for stream); Name describes it ("location /api").
	File string
	Line int
	Name string
	// Target is the proxy_pass/grpc_pass/uwsgi_pass argument.
	Target string
	// Protocols is the effective set; Source and From say where it comes from.
	Protocols audit.ProtocolSet
	Source    audit.Source
	From      *audit.Location
	// Directives are indexes into Analysis.Directives of the protocol
	// lines that decide the set (at whichever level they sit); empty for
	// a built-in default.
	Directives []int
	// Ciphers are the proxy_ssl_ciphers (etc.) strings in force.
	Ciphers []string
	// Notes explain anything unusual.
	Notes []string
}

// Listener is one TLS listen address of one module.
type Listener struct {
	Module string
	// Address is the normalised "host:port" (see Server.Listen): "443"
	// and "0.0.0.0:443" become "*:443"; a host name is kept as written
	// (never resolved).
	Address string
	Port    int
	// Effective is the set the default server's configuration gives (what
	// non-SNI clients, and all clients before nginx 1.29.2, get).
	Effective audit.ProtocolSet
	// DefaultServer is the opening line of the default server.
	DefaultServer audit.Location
	// Servers are the opening lines of every server on this address, in
	// declaration order.
	Servers []audit.Location
}

// Directive is one directive as ParseDirectives returns it.
type Directive struct {
	Name string
	Args []string
	// File and Line locate it; Ordinal is its 0-based position among the
	// directives starting on that line of that file.
	File    string
	Line    int
	Ordinal int
	// Block is the path of enclosing block names, e.g. ["http", "server",
	// "location"]. For a directive in an included file the path starts
	// with the context of the file's first include site.
	Block []string
	// IsBlock is true for a directive followed by { ... }.
	IsBlock bool
}
