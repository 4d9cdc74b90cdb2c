package nginx

import (
	"strings"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// DefaultProtocols is nginx's built-in protocol set for a version when no
// *_protocols directive applies. The same history holds for ssl_protocols
// in http, stream and mail and for proxy_/grpc_/uwsgi_ssl_protocols
// (reference/linux-servers.md §2 and §11.6). An unknown version gets the
// oldest (most permissive) default.
func DefaultProtocols(v audit.ServerVersion) audit.ProtocolSet {
	switch {
	case !v.Known() || !v.AtLeast("1.9.1"):
		return audit.Set(audit.SSLv3, audit.TLS10, audit.TLS11, audit.TLS12)
	case !v.AtLeast("1.23.4"):
		return audit.Set(audit.TLS10, audit.TLS11, audit.TLS12)
	case !v.AtLeast("1.27.3"):
		return audit.Set(audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13)
	default:
		return audit.Set(audit.TLS12, audit.TLS13)
	}
}

// SNIPerServer reports whether a non-default server's own ssl_protocols is
// honoured: nginx 1.29.2 selects the server in the ClientHello callback,
// which needs OpenSSL 1.1.1 (or BoringSSL/AWS-LC). An unknown library is
// assumed capable because nginx that new is practically never built
// against anything older; the caller notes the assumption.
func SNIPerServer(v audit.ServerVersion, lib openssl.Version) bool {
	if !v.Known() || !v.AtLeast("1.29.2") {
		return false
	}
	if !lib.Known() {
		return true
	}
	switch lib.Flavor {
	case openssl.FlavorBoringSSL, openssl.FlavorAWSLC:
		return true
	case openssl.FlavorOpenSSL:
		return lib.AtLeast("1.1.1")
	}
	// LibreSSL has no ClientHello callback.
	return false
}

// nginxToken maps an ssl_protocols token (case-insensitive) to a protocol.
// Only nginx's own spellings are valid: "TLSv1.0" or "1.2" is an error in
// nginx, so it is one here.
func nginxToken(s string) (audit.Protocol, bool) {
	switch strings.ToLower(s) {
	case "sslv2":
		return audit.SSLv2, true
	case "sslv3":
		return audit.SSLv3, true
	case "tlsv1":
		return audit.TLS10, true
	case "tlsv1.1":
		return audit.TLS11, true
	case "tlsv1.2":
		return audit.TLS12, true
	case "tlsv1.3":
		return audit.TLS13, true
	}
	return 0, false
}

// NginxString renders a set with nginx's tokens ("TLSv1 TLSv1.1"), for
// messages that quote config.
func NginxString(s audit.ProtocolSet) string {
	var parts []string
	for _, p := range s.List() {
		parts = append(parts, p.NginxName())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
