package audit

// RuleID names a kind of finding. IDs are stable, appear in JSON reports and
// are never reused for a different meaning.
type RuleID string

// The rule IDs. Linux server and OpenSSL rules first, then live-probe rules,
// then Windows registry rules.
const (
	RuleLegacyEnabled      RuleID = "legacy-protocol-enabled"
	RuleLegacyDefault      RuleID = "legacy-protocol-default"
	RuleTLS12Missing       RuleID = "tls12-missing"
	RuleTLS13Available     RuleID = "tls13-available"
	RuleDirectiveNoEffect  RuleID = "directive-no-effect"
	RuleOpenSSLNoTLS12     RuleID = "openssl-no-tls12"
	RuleOpenSSLHeartbleed  RuleID = "openssl-heartbleed"
	RuleOpenSSLNoTLS13     RuleID = "openssl-no-tls13"
	RuleOpenSSLEOL         RuleID = "openssl-eol"
	RulePolicyAllowsLegacy RuleID = "policy-allows-legacy"
	RuleComponentUnknown   RuleID = "component-unknown"

	RuleLiveDiffers        RuleID = "live-differs"
	RuleLiveLegacyAccepted RuleID = "live-legacy-accepted"

	RuleSChannelLegacyEnabled  RuleID = "schannel-legacy-enabled"
	RuleSChannelTLS12Disabled  RuleID = "schannel-tls12-disabled"
	RuleSChannelTLS13Available RuleID = "schannel-tls13-available"
	RuleDotNetStrongCryptoOff  RuleID = "dotnet-strong-crypto-off"
	RuleWinHTTPLegacyEnabled   RuleID = "winhttp-legacy-enabled"
	RuleWinHTTPTLS12Missing    RuleID = "winhttp-tls12-missing"
	RuleWinINetLegacyEnabled   RuleID = "wininet-legacy-enabled"
	RuleWinINetTLS12Missing    RuleID = "wininet-tls12-missing"
)

// Rule describes one kind of finding: its usual severity and what to do about
// it. Scanners may raise or lower the severity of an individual finding (for
// example when OpenSSL itself refuses a configured protocol) and say why.
type Rule struct {
	ID          RuleID
	Severity    Severity
	Title       string
	Remediation string
}

// rules is the immutable catalog. Look rules up with LookupRule.
var rules = []Rule{
	{RuleLegacyEnabled, High, "a directive enables SSLv2, SSLv3, TLS 1.0 or TLS 1.1",
		"rewrite the directive to TLS 1.2 (and TLS 1.3): `tlsfloor fix`"},
	{RuleLegacyDefault, High, "the server's built-in default enables legacy protocols here",
		"set the protocols explicitly at the top level (http/stream/mail block or server-wide): `tlsfloor fix`"},
	{RuleTLS12Missing, High, "TLS 1.2 is not enabled",
		"add TLS 1.2 to the protocol list: `tlsfloor fix`"},
	{RuleTLS13Available, Low, "TLS 1.3 could be enabled but is not",
		"add TLS 1.3 to the protocol list (server and OpenSSL support it): `tlsfloor fix`"},
	{RuleDirectiveNoEffect, Medium, "a protocol directive has no effect because another server decides the handshake",
		"set the same protocols for every server on this address, ideally once at the top level: `tlsfloor fix`"},
	{RuleOpenSSLNoTLS12, Critical, "OpenSSL is older than 1.0.1 and cannot negotiate TLS 1.2",
		"upgrade OpenSSL (and rebuild or upgrade the servers that link it) to a supported release"},
	{RuleOpenSSLHeartbleed, Critical, "OpenSSL 1.0.1 to 1.0.1f is vulnerable to Heartbleed (CVE-2014-0160)",
		"upgrade OpenSSL to 1.0.1g or later (a supported branch), then rotate keys and certificates"},
	{RuleOpenSSLNoTLS13, Medium, "OpenSSL is older than 1.1.1 and cannot negotiate TLS 1.3",
		"upgrade OpenSSL to 1.1.1 or later (3.5 LTS recommended)"},
	{RuleOpenSSLEOL, Low, "the OpenSSL branch is past its upstream end of life",
		"move to a supported OpenSSL branch; distributions may backport fixes, check your vendor"},
	{RulePolicyAllowsLegacy, Medium, "the system crypto policy allows legacy protocols",
		"raise MinProtocol to TLSv1.2 in openssl.cnf, or set the crypto policy to DEFAULT or FUTURE"},
	{RuleComponentUnknown, Info, "a component could not be evaluated",
		"see the message; point tlsfloor at the configuration or binary with the matching flag"},
	{RuleLiveDiffers, Medium, "the live server accepts a different set of protocols than its configuration says",
		"reload the server, or check for another process or a proxy on that address"},
	{RuleLiveLegacyAccepted, High, "the live server accepts SSLv2, SSLv3, TLS 1.0 or TLS 1.1",
		"fix the configuration and reload: `tlsfloor fix --verify`"},
	{RuleSChannelLegacyEnabled, High, "SChannel allows SSL 2.0/3.0 or TLS 1.0/1.1",
		"set Enabled=0 and DisabledByDefault=1 for the legacy protocols: `tlsfloor fix`"},
	{RuleSChannelTLS12Disabled, High, "SChannel has TLS 1.2 disabled",
		"set Enabled=1 and DisabledByDefault=0 for TLS 1.2: `tlsfloor fix`"},
	{RuleSChannelTLS13Available, Low, "this Windows build supports TLS 1.3 but it is disabled",
		"set Enabled=1 and DisabledByDefault=0 for TLS 1.3: `tlsfloor fix`"},
	{RuleDotNetStrongCryptoOff, High, ".NET Framework applications may fall back to legacy protocols",
		"set SchUseStrongCrypto=1 and SystemDefaultTlsVersions=1: `tlsfloor fix`"},
	{RuleWinHTTPLegacyEnabled, High, "WinHTTP's DefaultSecureProtocols allows legacy protocols",
		"set DefaultSecureProtocols to TLS 1.2 (and 1.3): `tlsfloor fix`"},
	{RuleWinHTTPTLS12Missing, High, "WinHTTP's DefaultSecureProtocols lacks TLS 1.2",
		"set DefaultSecureProtocols to TLS 1.2 (and 1.3): `tlsfloor fix`"},
	{RuleWinINetLegacyEnabled, Medium, "Internet Options (WinINet SecureProtocols) allows legacy protocols",
		"set SecureProtocols to TLS 1.2 (and 1.3): `tlsfloor fix`"},
	{RuleWinINetTLS12Missing, High, "Internet Options (WinINet SecureProtocols) lacks TLS 1.2",
		"set SecureProtocols to TLS 1.2 (and 1.3): `tlsfloor fix`"},
}

// LookupRule returns the catalog entry for id.
func LookupRule(id RuleID) (Rule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// Rules returns a copy of the whole catalog.
func Rules() []Rule { return append([]Rule(nil), rules...) }
