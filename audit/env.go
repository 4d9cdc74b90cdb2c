package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Options are the user's hints for discovery, shared by audit and fix.
type Options struct {
	Root         string // --root, "" or "/" for the real root
	NginxConf    string // --nginx-conf
	NginxBin     string // --nginx-bin
	NginxVersion string // --nginx-version
	ApacheConf   string // --apache-conf
	ApacheBin    string // --apache-bin
	OpenSSLBin   string // --openssl-bin
}

// Rooted reports whether the audit looks at a tree other than the running
// host. Scanners then do not run binaries found on PATH: the host's nginx
// says nothing about an image's nginx. Binaries named with a flag still run.
func (o Options) Rooted() bool { return o.Root != "" && o.Root != "/" }

// Env is everything a scanner may touch. It is built once by the command and
// passed down; scanners never reach the OS any other way.
type Env struct {
	FS      platform.FS
	Runner  platform.Runner
	Getenv  func(string) string
	Now     func() time.Time
	Policy  Policy
	Options Options
	// Registry is the Windows registry; nil on other platforms.
	Registry platform.Registry
}

// Result is what one scanner found: its components and findings.
type Result struct {
	Components []Component
	Findings   []Finding
}

// ServerResult assembles a server scanner's result: the server's component
// and findings first, then the TLS library it links when that is known.
func ServerResult(c Component, findings []Finding, lib *Component, libFindings []Finding) Result {
	res := Result{Components: []Component{c}, Findings: findings}
	if lib != nil {
		res.Components = append(res.Components, *lib)
		res.Findings = append(res.Findings, libFindings...)
	}
	return res
}

// Scanner evaluates one kind of component on the host. A component that is
// simply absent is reported with StatusNotFound, not as an error. An error
// means the input could not be read with certainty (a parse error, an
// unreadable file); the audit then stops rather than present a partial report.
type Scanner interface {
	Name() string
	Scan(ctx context.Context, env *Env) (Result, error)
}

// Run runs every scanner in order and assembles the report.
func Run(ctx context.Context, env *Env, tool Tool, scanners []Scanner) (*Report, error) {
	rep := &Report{Tool: tool}
	for _, s := range scanners {
		res, err := s.Scan(ctx, env)
		if err != nil {
			return nil, err
		}
		rep.Components = append(rep.Components, res.Components...)
		rep.Findings = append(rep.Findings, res.Findings...)
	}
	rep.Finalize(env.Policy)
	return rep, nil
}

// ConfigError is input we cannot read with certainty: a parse error, an
// unreadable or missing file, an include cycle. It prints as
// "path:line: message" (or "path: message" without a line) and maps to exit
// code 2.
type ConfigError struct {
	Path string
	Line int
	Msg  string
	Err  error
}

func (e *ConfigError) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	switch {
	case e.Path == "":
		return msg
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, msg)
	default:
		return fmt.Sprintf("%s: %s", e.Path, msg)
	}
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Errorf builds a ConfigError for path:line.
func Errorf(path string, line int, format string, args ...any) *ConfigError {
	return &ConfigError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// IsConfigError reports whether err is (or wraps) a ConfigError.
func IsConfigError(err error) bool {
	var ce *ConfigError
	return errors.As(err, &ce)
}
