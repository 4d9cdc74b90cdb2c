package openssl

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
)

// ConfCandidates are the usual openssl.cnf places, tried in order when the
// CLI did not tell us its OPENSSLDIR: Debian/Ubuntu, RHEL/Fedora, Debian's
// OPENSSLDIR, and a source build's default.
var ConfCandidates = []string{"/etc/ssl/openssl.cnf", "/etc/pki/tls/openssl.cnf", "/usr/lib/ssl/openssl.cnf", "/usr/local/ssl/openssl.cnf"}

// CryptoPolicyConfig is where RHEL/Fedora keep the active crypto policy.
const CryptoPolicyConfig = "/etc/crypto-policies/config"

// SystemPolicy is the system-wide TLS default of OpenSSL: the
// system_default section that openssl.cnf reaches through openssl_conf ->
// ssl_conf -> system_default, and RHEL's crypto policy.
type SystemPolicy struct {
	// ConfPath is the openssl.cnf read ("" when none exists).
	ConfPath string
	Conf     *Conf
	// Chain is the openssl_conf, ssl_conf and system_default lines that
	// lead to Section, as far as they exist.
	Chain []Entry
	// Section is the system_default section's name ("" when none).
	Section string
	// Settings are the protocol-relevant commands found there.
	Min, Max, Protocol, CipherString *Entry
	// CryptoPolicy is the RHEL policy ("DEFAULT", "LEGACY:AD-SUPPORT") and
	// where it is set; empty elsewhere.
	CryptoPolicy    string
	CryptoPolicyLoc audit.Location
	Notes           []string
}

// ReadSystemPolicy reads the system policy. confPath, when not empty, is
// tried before ConfCandidates (the CLI's OPENSSLDIR/openssl.cnf). A missing
// openssl.cnf is not an error; a malformed one is a *audit.ConfigError.
func ReadSystemPolicy(fsys platform.FS, confPath string) (*SystemPolicy, error) {
	sp := &SystemPolicy{}
	cands := ConfCandidates
	if confPath != "" {
		cands = append([]string{confPath}, cands...)
	}
	for _, c := range cands {
		if _, err := fsys.Stat(c); err == nil {
			sp.ConfPath = c
			// Debian's OPENSSLDIR/openssl.cnf is a link to /etc/ssl; name
			// the file people edit.
			if real, err := fsys.EvalSymlinks(c); err == nil && real != c {
				sp.ConfPath = real
				sp.Notes = append(sp.Notes, fmt.Sprintf("%s is a link to %s", c, real))
			}
			break
		}
	}
	if err := sp.readCryptoPolicy(fsys); err != nil {
		return nil, err
	}
	if sp.ConfPath == "" {
		sp.Notes = append(sp.Notes, "no openssl.cnf found (looked at "+strings.Join(cands, ", ")+"): the library's compiled-in defaults apply")
		return sp, nil
	}
	conf, err := ParseConf(fsys, sp.ConfPath)
	if err != nil {
		return nil, err
	}
	sp.Conf = conf
	for _, m := range conf.Missing {
		sp.Notes = append(sp.Notes, fmt.Sprintf("%s:%d: .include %s does not exist (OpenSSL skips it)", m.File, m.Line, m.Value))
	}
	if err := sp.follow(); err != nil {
		return nil, err
	}
	return sp, nil
}

func (sp *SystemPolicy) readCryptoPolicy(fsys platform.FS) error {
	data, err := readFile(fsys, CryptoPolicyConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return &audit.ConfigError{Path: CryptoPolicyConfig, Err: err}
	}
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		if f := strings.Fields(line); len(f) > 0 {
			sp.CryptoPolicy = f[0]
			sp.CryptoPolicyLoc = audit.Location{File: CryptoPolicyConfig, Line: i + 1}
			return nil
		}
	}
	return audit.Errorf(CryptoPolicyConfig, 0, "no policy name")
}

// follow walks openssl_conf -> ssl_conf -> system_default and picks the
// settings out of the system_default section.
func (sp *SystemPolicy) follow() error {
	c := sp.Conf
	app, ok := c.Get(DefaultSection, "openssl_conf")
	if !ok {
		sp.Notes = append(sp.Notes, "no openssl_conf line: OpenSSL loads no configuration modules; the library's compiled-in defaults apply")
		return nil
	}
	sp.Chain = append(sp.Chain, app)
	mods, ok := c.Section(app.Value)
	if !ok {
		sp.Notes = append(sp.Notes, fmt.Sprintf("%s:%d: section [%s] does not exist: the library's compiled-in defaults apply", app.File, app.Line, app.Value))
		return nil
	}
	var sslConf *Entry
	for i := range mods {
		// A module name may carry a ".suffix"; OpenSSL ignores it.
		if name, _, _ := strings.Cut(mods[i].Key, "."); name == "ssl_conf" {
			sslConf = &mods[i]
		}
	}
	if sslConf == nil {
		sp.Notes = append(sp.Notes, fmt.Sprintf("no ssl_conf in [%s], so no system_default section: the library's compiled-in defaults apply", app.Value))
		return nil
	}
	sp.Chain = append(sp.Chain, *sslConf)
	confs, ok := c.Section(sslConf.Value)
	if !ok {
		sp.Notes = append(sp.Notes, fmt.Sprintf("%s:%d: ssl_conf section [%s] does not exist (OpenSSL fails to apply it): the library's compiled-in defaults apply", sslConf.File, sslConf.Line, sslConf.Value))
		return nil
	}
	var sd *Entry
	for i := range confs {
		if confs[i].Key == "system_default" {
			sd = &confs[i]
		}
	}
	if sd == nil {
		sp.Notes = append(sp.Notes, fmt.Sprintf("no system_default in [%s]: the library's compiled-in defaults apply", sslConf.Value))
		return nil
	}
	sp.Chain = append(sp.Chain, *sd)
	cmds, ok := c.Section(sd.Value)
	if !ok {
		sp.Notes = append(sp.Notes, fmt.Sprintf("%s:%d: system_default section [%s] does not exist (OpenSSL fails to apply it): the library's compiled-in defaults apply", sd.File, sd.Line, sd.Value))
		return nil
	}
	sp.Section = sd.Value
	for i := range cmds {
		e := &cmds[i]
		// SSL_CONF command names in a file are case-insensitive.
		switch strings.ToLower(e.Key) {
		// Commands apply in order, so the last bound wins. RHEL's OpenSSL
		// also reads TLS.MinProtocol/TLS.MaxProtocol (TLS only); a DTLS
		// value does not bound TLS.
		case "minprotocol", "tls.minprotocol":
			if _, _, err := protocolValue(e); err != nil {
				return err
			}
			if !isDTLS(e.Value) {
				sp.Min = e
			}
		case "maxprotocol", "tls.maxprotocol":
			if _, _, err := protocolValue(e); err != nil {
				return err
			}
			if !isDTLS(e.Value) {
				sp.Max = e
			}
		case "protocol":
			if _, err := protocolCommand(e); err != nil {
				return err
			}
			sp.Protocol = e
		case "cipherstring":
			sp.CipherString = e
		}
	}
	if sp.Min == nil && sp.Max == nil && sp.Protocol == nil && sp.CipherString == nil {
		sp.Notes = append(sp.Notes, fmt.Sprintf("[%s] sets neither MinProtocol, MaxProtocol, Protocol nor CipherString", sp.Section))
	}
	return nil
}

func isDTLS(v string) bool { return strings.HasPrefix(v, "DTLS") }

// protocolValue reads a MinProtocol/MaxProtocol value. OpenSSL compares
// the names case-sensitively and rejects the whole section on an unknown
// one, so that is a config error. none is true for "None" (no bound).
func protocolValue(e *Entry) (audit.Protocol, bool, error) {
	switch e.Value {
	case "None":
		return 0, true, nil
	case "SSLv3":
		return audit.SSLv3, false, nil
	case "TLSv1", "DTLSv1":
		return audit.TLS10, false, nil
	case "TLSv1.1":
		return audit.TLS11, false, nil
	case "TLSv1.2", "DTLSv1.2":
		return audit.TLS12, false, nil
	case "TLSv1.3":
		return audit.TLS13, false, nil
	}
	return 0, false, audit.Errorf(e.File, e.Line, "%s: unknown protocol %q (OpenSSL rejects the section, so none of it applies)", e.Key, e.Value)
}

// protocolCommand reads "Protocol = -ALL, TLSv1.2, +TLSv1.3" and returns
// the protocols it switches off.
func protocolCommand(e *Entry) (off audit.ProtocolSet, err error) {
	all := audit.Set(audit.SSLv3, audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13)
	for _, tok := range strings.FieldsFunc(e.Value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		enable := true
		if tok[0] == '-' || tok[0] == '+' {
			enable = tok[0] == '+'
			tok = tok[1:]
		}
		var set audit.ProtocolSet
		switch tok {
		case "ALL":
			set = all
		case "SSLv3":
			set = audit.Set(audit.SSLv3)
		case "TLSv1":
			set = audit.Set(audit.TLS10)
		case "TLSv1.1":
			set = audit.Set(audit.TLS11)
		case "TLSv1.2":
			set = audit.Set(audit.TLS12)
		case "TLSv1.3":
			set = audit.Set(audit.TLS13)
		case "DTLSv1", "DTLSv1.2", "SSLv2":
			continue
		default:
			return 0, audit.Errorf(e.File, e.Line, "Protocol: unknown protocol %q", tok)
		}
		if enable {
			off = off.Minus(set)
		} else {
			off = off.Union(set)
		}
	}
	return off, nil
}

var reSecLevel = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`@SECLEVEL=(\d)`) })

// secLevel returns the last @SECLEVEL=n in a cipher string.
func secLevel(cipher string) (int, bool) {
	ms := reSecLevel().FindAllStringSubmatch(cipher, -1)
	if len(ms) == 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(ms[len(ms)-1][1])
	return n, true
}

// Host describes the library and OS the policy is evaluated for.
type Host struct {
	// Lib is the system OpenSSL; unknown when neither the CLI nor libcrypto
	// could be read.
	Lib Version
	// DefaultSecLevel is the compiled-in security level
	// (-DOPENSSL_TLS_SECURITY_LEVEL; Debian builds 2); 0 means unknown (1).
	DefaultSecLevel int
	// Ubuntu patches OpenSSL so that level 2 itself refuses TLS < 1.2.
	Ubuntu bool
	// Path is where Lib was read (the CLI or libcrypto), for findings when
	// there is no openssl.cnf to point at.
	Path string
}

// Evaluate compares what the policy configures with what the library will
// really negotiate for programs that set no protocols of their own, against
// floor (the audit's --min-version).
func (sp *SystemPolicy) Evaluate(h Host, floor audit.Protocol) (audit.Component, []audit.Finding) {
	if floor <= audit.SSLv3 {
		floor = audit.TLS12
	}
	c := audit.Component{Kind: audit.KindSystemPolicy, Path: sp.ConfPath, Version: sp.CryptoPolicy, Status: audit.StatusOK}
	if sp.ConfPath == "" {
		c.Status = audit.StatusNotFound
	}
	c.Notes = append(c.Notes, sp.Notes...)

	supported := Supported(h.Lib)
	if !h.Lib.Known() {
		supported = audit.Set(audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13)
		c.Notes = append(c.Notes, "library version unknown: assuming it supports TLS 1.0 to 1.3 and does not refuse TLS 1.0/1.1 by security level")
	}
	configured := supported
	var explicit *Entry // the line that explicitly lets legacy protocols in
	source := audit.SourceDefault
	if sp.Min != nil {
		p, none, _ := protocolValue(sp.Min)
		if !none {
			configured = configured.AtLeast(p)
		}
		source = audit.SourceDirective
		explicit = sp.Min
	}
	if sp.Max != nil {
		p, none, _ := protocolValue(sp.Max)
		if !none {
			configured = configured.Below(p + 1)
		}
		source = audit.SourceDirective
	}
	if sp.Protocol != nil {
		off, _ := protocolCommand(sp.Protocol)
		configured = configured.Minus(off)
		source = audit.SourceDirective
		if explicit == nil {
			explicit = sp.Protocol
		}
	}
	// RHEL without a usable back-end: the policy name is all we know.
	if sp.Section == "" && sp.CryptoPolicy != "" {
		name, _, _ := strings.Cut(sp.CryptoPolicy, ":")
		c.Notes = append(c.Notes, fmt.Sprintf("crypto policy %s is set, but openssl.cnf does not reach its OpenSSL back-end", sp.CryptoPolicy))
		if name == "LEGACY" && !h.Lib.SecurityLevelBlocksLegacy() && h.Lib.Known() {
			// RHEL 8: LEGACY means TLS 1.0 and newer (linux-servers.md §8.3).
			configured = supported.AtLeast(audit.TLS10)
		}
	}

	level := h.DefaultSecLevel
	levelNote := fmt.Sprintf("compiled-in security level %d", level)
	if level == 0 {
		level = 1
		levelNote = "default security level 1 (compiled-in level unknown)"
	}
	if sp.CipherString != nil {
		if n, ok := secLevel(sp.CipherString.Value); ok {
			level = n
			levelNote = fmt.Sprintf("@SECLEVEL=%d at %s:%d", n, sp.CipherString.File, sp.CipherString.Line)
		}
	}
	refused, why := refusedAt(h, level, levelNote)
	effective := configured.Minus(refused)

	// The chain openssl_conf -> ssl_conf -> system_default leads to the
	// configured set, so each link shows it; the security level decides
	// what is reachable, so the CipherString line shows the effective set.
	for _, e := range sp.Chain {
		c.Contexts = append(c.Contexts, audit.Context{File: e.File, Line: e.Line, Kind: "openssl.cnf", Name: e.Key + " = " + e.Value,
			Protocols: configured, Source: source})
	}
	for _, e := range []*Entry{sp.Min, sp.Max, sp.Protocol} {
		if e == nil {
			continue
		}
		c.Contexts = append(c.Contexts, audit.Context{File: e.File, Line: e.Line, Kind: "system_default", Name: e.Key + " = " + e.Value,
			Protocols: configured, Source: audit.SourceDirective})
	}
	if sp.CipherString != nil {
		c.Contexts = append(c.Contexts, audit.Context{File: sp.CipherString.File, Line: sp.CipherString.Line, Kind: "system_default",
			Name: sp.CipherString.Key + " = " + sp.CipherString.Value, Protocols: effective, Source: audit.SourceDirective, Note: why})
	}
	if sp.CryptoPolicy != "" {
		c.Contexts = append(c.Contexts, audit.Context{File: sp.CryptoPolicyLoc.File, Line: sp.CryptoPolicyLoc.Line, Kind: "crypto-policy",
			Name: sp.CryptoPolicy, Protocols: configured, Source: audit.SourceDirective})
	}
	where := "the library's compiled-in defaults"
	switch {
	case source == audit.SourceDirective:
		where = "[" + sp.Section + "]"
	case sp.Section != "":
		where = "[" + sp.Section + "] sets no protocol bounds: the library's compiled-in defaults"
	}
	c.Contexts = append(c.Contexts,
		audit.Context{File: sp.ConfPath, Kind: "configured", Name: "programs that set no protocols of their own", Protocols: configured, Source: source, Note: where},
		audit.Context{File: sp.ConfPath, Kind: "effective", Name: "programs that set no protocols of their own", Protocols: effective, Source: source, Note: why},
	)

	below := configured.Below(floor)
	if below.Empty() || (!h.Lib.Known() && sp.Section == "" && sp.CryptoPolicy == "") {
		// Nothing to judge: no library and no policy says anything.
		return c, nil
	}
	effBelow := effective.Below(floor)
	loc := audit.Location{File: sp.ConfPath}
	if loc.File == "" {
		loc.File = h.Path
	}
	var msg string
	severity := audit.Medium
	switch {
	case explicit != nil:
		loc = explicit.Loc()
		msg = fmt.Sprintf("%s = %s in [%s] allows %s", explicit.Key, explicit.Value, sp.Section, below)
		if sp.CryptoPolicy != "" && strings.HasPrefix(explicit.File, "/etc/crypto-policies/") {
			msg = fmt.Sprintf("crypto policy %s (%s:%d) allows %s: %s:%d sets %s = %s", sp.CryptoPolicy,
				sp.CryptoPolicyLoc.File, sp.CryptoPolicyLoc.Line, below, explicit.File, explicit.Line, explicit.Key, explicit.Value)
			loc = sp.CryptoPolicyLoc
		}
	case sp.CryptoPolicy != "" && sp.Section == "":
		loc = sp.CryptoPolicyLoc
		if name, _, _ := strings.Cut(sp.CryptoPolicy, ":"); name == "LEGACY" {
			msg = fmt.Sprintf("crypto policy %s allows %s", sp.CryptoPolicy, below)
		} else {
			msg = fmt.Sprintf("openssl.cnf does not apply crypto policy %s, so programs get the library's defaults: %s", sp.CryptoPolicy, below)
		}
	default:
		// Nothing sets a minimum: only a finding if programs really get
		// the old protocols.
		if effBelow.Empty() {
			return c, nil
		}
		severity = audit.Low
		msg = fmt.Sprintf("no system-wide MinProtocol: programs that set no protocols of their own accept %s", effBelow)
	}
	switch {
	case effBelow.Empty():
		severity = audit.Low
		msg += "; not reachable in practice: " + why
	case why != "" && !below.Intersect(audit.Legacy).Empty():
		msg += "; " + why
	}
	f := audit.NewFinding(audit.RulePolicyAllowsLegacy, audit.KindSystemPolicy, loc, below, msg)
	f.Severity = severity
	return c, []audit.Finding{f}
}

// refusedAt returns the protocols the library refuses at a security level,
// whatever the protocol bounds say, and why.
//
// Every OpenSSL since 1.1.0 refuses SSLv3 from level 2, TLS 1.0 from level 3
// and TLS 1.1 from level 4 (ssl/t1_lib.c ssl_security_default_callback,
// SSL_SECOP_VERSION; SSL_CTX_set_security_level(3)). OpenSSL 3 also refuses
// TLS 1.0/1.1 from level 1, because their MD5/SHA-1 signatures fall below
// 80 bits (linux-servers.md §8.1); Ubuntu patches level 2 to mean TLS 1.2+
// (§8.2).
func refusedAt(h Host, level int, levelNote string) (audit.ProtocolSet, string) {
	var refused audit.ProtocolSet
	var why string
	if h.Lib.Flavor == FlavorOpenSSL && h.Lib.AtLeast("1.1.0") {
		switch {
		case level >= 4:
			refused = audit.Set(audit.SSLv3, audit.TLS10, audit.TLS11)
		case level >= 3:
			refused = audit.Set(audit.SSLv3, audit.TLS10)
		case level >= 2:
			refused = audit.Set(audit.SSLv3)
		}
	}
	switch {
	case h.Lib.SecurityLevelBlocksLegacy() && level >= 1:
		refused = refused.Union(audit.Legacy)
		why = fmt.Sprintf("%s refuses TLS 1.0/1.1 at security level %d (%s): their MD5/SHA-1 signatures are too weak", h.Lib, level, levelNote)
	case h.Ubuntu && level >= 2:
		refused = refused.Union(audit.Legacy)
		why = fmt.Sprintf("Ubuntu's OpenSSL refuses protocols below TLS 1.2 at security level %d (%s)", level, levelNote)
	case h.Lib.SecurityLevelBlocksLegacy():
		why = fmt.Sprintf("security level 0 (%s) lets %s negotiate TLS 1.0/1.1 again", levelNote, h.Lib)
	case h.Lib.Flavor == FlavorOpenSSL && !h.Lib.AtLeast("1.1.0"):
		why = fmt.Sprintf("%s predates security levels (1.1.0) and negotiates TLS 1.0/1.1", h.Lib)
	case refused.Has(audit.TLS10):
		why = fmt.Sprintf("%s refuses %s at security level %d (%s)", h.Lib, refused.Intersect(audit.Set(audit.TLS10, audit.TLS11)), level, levelNote)
	case h.Lib.Known():
		why = fmt.Sprintf("%s negotiates TLS 1.0/1.1 at security level %d (%s); only level 3 and above refuse them", h.Lib, level, levelNote)
	}
	return refused, why
}
