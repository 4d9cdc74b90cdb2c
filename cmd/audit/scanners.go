package audit

import (
	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/audit/live"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
	"github.com/tlsfloor/tlsfloor/audit/schannel"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
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

// liveScanners are the scanners that --live adds: probing the listeners of
// the servers that only selects.
func liveScanners(only cmdutil.Components) []audit.Scanner {
	var sources []live.Source
	if only.Has("nginx") {
		sources = append(sources, live.NginxListeners)
	}
	if only.Has("apache") {
		sources = append(sources, live.ApacheListeners)
	}
	if len(sources) == 0 {
		return nil
	}
	return []audit.Scanner{live.New(probe.New(probe.Options{}), sources...)}
}
