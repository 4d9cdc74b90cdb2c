package platformtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ApacheModules is where Debian's apache2 keeps its modules.
const ApacheModules = "/usr/lib/apache2/modules"

// ApacheTLS is a minimal httpd configuration for Debian's apache2: one
// TLS virtual host on 127.0.0.1:Port, nothing else, everything (pid file,
// error log, runtime files) under Dir.
type ApacheTLS struct {
	Dir       string
	Port      int
	Cert, Key string
	// Modules are loaded besides mpm_event and ssl, by name ("authz_core").
	Modules []string
	// User is the account the children run as when the test runs as
	// root (default nobody, with group nogroup).
	User string
	// VHost holds the virtual host's lines after SSLEngine and the
	// certificate (SSLProtocol, SSLCipherSuite, DocumentRoot, ...).
	VHost string
}

// Write checks that apache2 and the modules are installed (skipping the
// test, or failing it under CI=true, when they are not), writes the
// configuration to Dir/httpd.conf and returns that path and the apache2
// binary.
func (a ApacheTLS) Write(tb testing.TB) (conf, httpd string) {
	tb.Helper()
	httpd = RequireTool(tb, "apache2")
	mods := append([]string{"mpm_event", "ssl"}, a.Modules...)
	var load strings.Builder
	for _, m := range mods {
		so := filepath.Join(ApacheModules, "mod_"+m+".so")
		_, err := os.Stat(so)
		Require(tb, err == nil, "apache2 module "+so+" is not installed")
		fmt.Fprintf(&load, "LoadModule %s_module %s\n", m, so)
	}
	user := ""
	if os.Geteuid() == 0 {
		u, g := a.User, a.User
		if u == "" {
			u, g = "nobody", "nogroup"
		}
		user = fmt.Sprintf("User %s\nGroup %s\n", u, g)
	}
	src := fmt.Sprintf(`ServerRoot %[1]s
DefaultRuntimeDir %[1]s
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
%[2]s%[3]sServerName localhost
Listen 127.0.0.1:%[4]d
<VirtualHost 127.0.0.1:%[4]d>
	SSLEngine on
	SSLCertificateFile %[5]s
	SSLCertificateKeyFile %[6]s
%[7]s
</VirtualHost>
`, a.Dir, load.String(), user, a.Port, a.Cert, a.Key, indent(a.VHost))
	conf = filepath.Join(a.Dir, "httpd.conf")
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	return conf, httpd
}

// ErrorLog returns the server's error log, for a failure message.
func (a ApacheTLS) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(a.Dir, "error.log"))
	return string(b)
}

// indent puts a tab before each line, for the virtual host's body.
func indent(lines string) string {
	return "\t" + strings.ReplaceAll(strings.Trim(lines, "\n"), "\n", "\n\t")
}
