// Package apache audits the TLS protocol versions an Apache httpd
// configuration allows. It finds the main config (--apache-conf,
// `apachectl -V` / `apache2ctl -V` / `httpd -V`, well-known paths), parses it
// with its own lexer and parser that read the syntax exactly as httpd does
// (continuations, quoting, whole-line comments, Include/IncludeOptional,
// Define and ${VAR}, <IfModule>/<IfDefine>/<IfVersion>/<IfDirective>/
// <IfSection>), computes the effective SSLProtocol and SSLProxyProtocol per
// virtual host the way mod_ssl does (the +/-/bare algebra, `all` by OpenSSL
// version, no holes between min and max, the base-vhost SNI caveat) and
// turns the result into findings.
//
// The file system and commands come in through platform.FS and
// platform.Runner. It must not import cmd/ or remediate/; the fixer imports it
// (Analyze, Parse, Lex).
package apache

import (
	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// Analysis is everything the audit learned about one Apache installation.
// The fixer plans its edits from it, so its fields are a stable API.
type Analysis struct {
	// Found is false when no Apache config was found; Component then has
	// status not-found and notes listing what was looked for.
	Found bool
	// Main is the host path of the main config file.
	Main string
	// ServerRoot is the directory relative Include paths resolve against
	// at the start of parsing (a ServerRoot directive may change it later).
	ServerRoot string
	// Binary is the apachectl/apache2ctl/httpd that was run with -V, ""
	// if none.
	Binary string
	// Version is httpd's version from -V. When unknown, VersionAssumed is
	// true, Version is zero and the 2.4.16+ defaults are used.
	Version        audit.ServerVersion
	VersionAssumed bool
	// Library is the OpenSSL that mod_ssl links (zero if unknown, in which
	// case >= 1.1.1 is assumed); LibraryPath is where it was read from.
	Library     openssl.Version
	LibraryPath string
	// ParseOptions are the options Main was parsed with (ServerRoot,
	// version, Debian envvars); pass them to Parse to re-read edited bytes
	// exactly the same way.
	ParseOptions ParseOptions
	// Defines are the Define'd names (value "" for a bare Define) at the
	// end of parsing.
	Defines map[string]string
	// Files is every config file read (host paths, as included, not
	// symlink-resolved), main first, in include order, each once.
	Files []string
	// Directives is every SSLProtocol and SSLProxyProtocol directive read,
	// in config order, including inactive ones (inside a false <IfModule>,
	// <IfDefine>, <IfVersion> or a <Macro> body: Active is false).
	Directives []Directive
	// VHosts are the active <VirtualHost> sections, in config order.
	VHosts []VHost
	// Listeners are the unique TLS addresses, in order of first use.
	Listeners []Listener
	// ServerWide is where a server-wide SSLProtocol lives or would go.
	ServerWide InsertionPoint
	// Component and Findings are the apache part of the report.
	Component audit.Component
	Findings  []audit.Finding
	// LibraryComponent and LibraryFindings come from openssl.LibraryReport
	// when Library is known; Scan appends them to the result.
	LibraryComponent *audit.Component
	LibraryFindings  []audit.Finding
}

// Section is one enclosing <Section args> of a directive.
type Section struct {
	// Name is the section name as written without "<" (e.g. "VirtualHost",
	// "IfModule"); compare case-insensitively.
	Name string
	// Args are the arguments after ${VAR} substitution, without the ">".
	Args []string
	// File and Line locate the opening tag (first physical line).
	File string
	Line int
	// Active is true when this section's own condition holds (always true
	// for non-conditional sections except <Macro>, whose body is not live
	// config). Conditions inside an already inactive section are not
	// evaluated (httpd skips those lines) and read as true. A directive is
	// live only if every enclosing section is active: see Directive.Active.
	Active bool
	// Index is the section's position in Config.Sections.
	Index int

	live bool // this and every enclosing section active
}

// Directive is one directive (one logical line).
type Directive struct {
	// File is the host path of the file; Line the first physical line and
	// EndLine the last physical line of the logical line (they differ when
	// the line is continued with a trailing backslash).
	File    string
	Line    int
	EndLine int
	// Name is the directive name as written (compare case-insensitively).
	Name string
	// Args are the arguments after ${VAR} substitution and unquoting, split
	// as httpd splits them; RawArgs are the arguments as written (unquoted,
	// before substitution), which is what the bytes in the file say.
	Args    []string
	RawArgs []string
	// Sections are the enclosing sections, outermost first.
	Sections []Section
	// Active is true when every enclosing section is active: httpd reads
	// this directive.
	Active bool
	// VHost is the virtual host the directive sits in (nil: server-wide).
	// Set by Analyze only.
	VHost *VHost
	// Protocols is the set the directive's arguments compute to (set by
	// Analyze for SSLProtocol/SSLProxyProtocol only); Effective is that set
	// after httpd closes holes (OpenSSL >= 1.1.0: min..max contiguous).
	Protocols audit.ProtocolSet
	Effective audit.ProtocolSet
}

// VHost is one active <VirtualHost> section.
type VHost struct {
	// File and Line locate the <VirtualHost> opening line.
	File string
	Line int
	// Addresses are the normalised addresses ("*:443", "192.0.2.1:443",
	// "[::1]:8443"; "*:*" when no port is given).
	Addresses []string
	// ServerName is the last ServerName in the vhost ("" if none).
	ServerName string
	// SSLEngine is true when TLS is on for this vhost (its own SSLEngine,
	// else the server-wide one).
	SSLEngine bool
	// Protocol is the vhost's own last active SSLProtocol (nil if none);
	// ProxyProtocol likewise for SSLProxyProtocol.
	Protocol      *Directive
	ProxyProtocol *Directive
	// Effective is the protocol set SNI clients get (the union over the
	// vhost's addresses); Source says where it comes from and From the
	// directive it comes from (nil for the built-in default).
	Effective audit.ProtocolSet
	Source    audit.Source
	From      *audit.Location
}

// Listener is one unique TLS address.
type Listener struct {
	// Address is the normalised address, e.g. "*:443".
	Address string
	// Effective is what clients without SNI (and, before httpd 2.4.42 or
	// with OpenSSL < 1.1.1, every client) get: the base vhost's set.
	Effective audit.ProtocolSet
	// BaseFile and BaseLine locate the base (first) vhost on the address.
	BaseFile string
	BaseLine int
}

// Insertion kinds for InsertionPoint.Kind.
const (
	// InsertReplace: File:Line is an existing server-wide SSLProtocol;
	// replace its arguments.
	InsertReplace = "replace"
	// InsertInSection: File:Line is the opening line of the
	// <IfModule ssl_module|mod_ssl.c> section that holds the global SSL
	// settings (Debian mods-enabled/ssl.conf); insert after it.
	InsertInSection = "section"
	// InsertAtEnd: append to the end of File (the main config); Line is
	// its last line (0 for an empty file).
	InsertAtEnd = "end"
)

// InsertionPoint says where a server-wide SSLProtocol is or would go.
type InsertionPoint struct {
	Kind string
	File string
	Line int
}

// TokenKind classifies a token from Lex.
type TokenKind uint8

// Token kinds. Concatenating the source bytes of every token, in order,
// gives back the whole input.
const (
	// Space is blanks between or around words; it may contain continued
	// line breaks ("\\\n").
	Space TokenKind = iota
	// Word is one argument (or the directive name) as httpd splits it.
	Word
	// Comment is a whole comment line from '#' to the end of the logical
	// line (a comment ending in '\\' swallows the next physical line).
	Comment
	// Newline ends a logical line: "\n" or "\r\n".
	Newline
)

// Token is one lexical element with its byte span in the source.
type Token struct {
	Kind TokenKind
	// Start and End are byte offsets: the token is src[Start:End].
	Start, End int
	// Line is the 1-based physical line where the token starts.
	Line int
	// Value is a Word's argument as httpd sees it: outer quotes removed,
	// \" (\') and \\ unescaped, continuations joined. Empty for the other
	// kinds.
	Value string
	// Quote is '"' or '\'' for a quoted Word, else 0.
	Quote byte
	// Unterminated is true for a quoted Word whose closing quote is
	// missing; httpd then takes the rest of the logical line.
	Unterminated bool
}
