package openssl

import (
	"errors"
	"regexp"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Library is the TLS library a server binary really uses.
type Library struct {
	Version Version
	// Path is the host path of the file the version was read from: the
	// resolved libcrypto, or the binary itself when statically linked.
	Path string
	// Static is true when the binary links no libssl/libcrypto dynamically.
	Static bool
}

// LinkedLibrary finds the TLS library that binary links: DT_NEEDED resolved
// as ld.so does (DT_RPATH, LD_LIBRARY_PATH, DT_RUNPATH, ld.so.cache, default
// directories), then the version string inside libcrypto; for a static
// binary, the version string inside the binary.
func LinkedLibrary(fsys platform.FS, binary string, getenv func(string) string) (Library, error) {
	return Library{}, errors.New("openssl: reading linked libraries is not built yet")
}

var reSecLevel0 = regexp.MustCompile(`@SECLEVEL=0\b`)

// LegacyBlocked reports whether the library refuses TLS 1.0/1.1 in practice
// even when a server's configuration lists them: OpenSSL 3 and later reject
// the MD5/SHA-1 signatures TLS 1.0/1.1 need at security level 1 and above,
// and only "@SECLEVEL=0" in one of the server's cipher strings (ssl_ciphers,
// SSLCipherSuite, ssl_conf_command/SSLOpenSSLConfCmd values) lowers it.
func LegacyBlocked(lib Version, cipherStrings ...string) bool {
	if !lib.SecurityLevelBlocksLegacy() {
		return false
	}
	for _, c := range cipherStrings {
		if reSecLevel0.MatchString(c) {
			return false
		}
	}
	return true
}
