package audit

import (
	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/audit/live"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
	"github.com/tlsfloor/tlsfloor/audit/schannel"
	"github.com/tlsfloor/tlsfloor/platform/probe"
)

// DefaultScanners lists the scanners for goos, in report order. Each scanner
// package adds its constructor here.
func DefaultScanners(goos string) []audit.Scanner {
	if goos == "windows" {
		return []audit.Scanner{schannel.Scanner{}}
	}
	return []audit.Scanner{
		nginx.NewScanner(),
		apache.NewScanner(),
		openssl.NewScanner(), // keep last: the system library and policy after the servers
	}
}

// liveScanners are the scanners that --live adds (probing listeners).
func liveScanners() []audit.Scanner {
	return []audit.Scanner{live.New(probe.New(probe.Options{}), live.NginxListeners, live.ApacheListeners)}
}
