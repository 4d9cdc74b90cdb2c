package audit

import (
	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
)

// DefaultScanners lists the scanners for goos, in report order. Each scanner
// package adds its constructor here.
func DefaultScanners(goos string) []audit.Scanner {
	if goos == "windows" {
		return []audit.Scanner{}
	}
	return []audit.Scanner{
		nginx.NewScanner(),
	}
}

// liveScanners are the scanners that --live adds (probing listeners).
func liveScanners() []audit.Scanner { return nil }
