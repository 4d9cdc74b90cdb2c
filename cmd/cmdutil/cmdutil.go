// Package cmdutil holds what every command shares: the exit-code table, the
// typed errors that carry an exit code, the I/O streams with their terminal
// and colour rules, and the Factory that builds the real dependencies. It
// must not import command packages.
package cmdutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/probe"
)

// Exit codes. This table is the contract; README.md and `tlsfloor help
// exit-codes` print the same words.
const (
	ExitOK             = 0 // compliant, nothing to change, or a change applied and verified
	ExitFailure        = 1 // unexpected error
	ExitUsage          = 2 // usage error, input that cannot be read with certainty, or no right to write
	ExitNonCompliant   = 3 // findings at or above --fail-on, or changes pending
	ExitRolledBack     = 5 // change rolled back: config test, reload or verification failed
	ExitRollbackFailed = 6 // rollback failed: manual action needed
)

// ExitCodeTable is the exit-code contract as text, for help and README.
const ExitCodeTable = `  0  compliant; or nothing to change; or a fix applied (and verified)
  1  unexpected error
  2  usage error, or unusable input (a path:line: error is printed), or files or registry
     keys this user may not change; nothing is written
  3  non-compliant: findings at or above --fail-on; or changes pending (fix --dry-run,
     declined, or no terminal and no --yes)
  5  fix rolled back: the config test, reload or verification failed; originals restored
  6  rollback failed: manual action needed; the backup path is printed`

// ExitError carries an exit code to root.Main. A nil Err exits silently.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit wraps err with an exit code.
func Exit(code int, err error) error { return &ExitError{Code: code, Err: err} }

// FlagError is a usage error: root.Main prints it with a hint and exits 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf builds a FlagError.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// IsFlagError reports whether err is a usage error.
func IsFlagError(err error) bool {
	var fe *FlagError
	return errors.As(err, &fe)
}

// IOStreams are the command's standard streams plus what we know about the
// terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY    bool
	OutTTY   bool
	colorOut bool
}

// System returns the process's streams, with colour decided by the usual
// environment rules: NO_COLOR or CLICOLOR=0 turn it off, CLICOLOR_FORCE (not
// "0") forces it, TLSFLOOR_FORCE_TTY makes stdout and stdin count as
// terminals (for tests).
func System(getenv func(string) string) *IOStreams {
	forced := getenv("TLSFLOOR_FORCE_TTY") != ""
	s := &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY:  forced || term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY: forced || term.IsTerminal(int(os.Stdout.Fd())),
	}
	s.colorOut = ColorEnabled(s.OutTTY, getenv)
	return s
}

// ColorEnabled applies the colour rules to a stream.
func ColorEnabled(tty bool, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" {
		return false
	}
	if f := getenv("CLICOLOR_FORCE"); f != "" && f != "0" {
		return true
	}
	if getenv("CLICOLOR") == "0" {
		return false
	}
	return tty && getenv("TERM") != "dumb"
}

// Test returns streams backed by the given buffers, not a terminal.
func Test(in io.Reader, out, errOut io.Writer) *IOStreams {
	return &IOStreams{In: in, Out: out, ErrOut: errOut}
}

// ColorEnabled reports whether stdout gets colour.
func (s *IOStreams) ColorEnabled() bool { return s.colorOut }

// SetColor forces colour on or off (tests).
func (s *IOStreams) SetColor(on bool) { s.colorOut = on }

// Factory builds the real dependencies. Tests build a literal with fakes.
type Factory struct {
	IO      *IOStreams
	Runner  platform.Runner
	Getenv  func(string) string
	Now     func() time.Time
	Version string
	// NewFS returns the file system seen from root ("" = real root).
	NewFS func(root string) platform.FS
	// NewWriter returns the writable file system seen from root, for fix
	// and rollback; nil means platform.NewOSWriter (see Writer).
	NewWriter func(root string) platform.Writer
	// Services reloads servers; nil means platform.Services over Runner
	// (see ServiceManager).
	Services platform.ServiceManager
	// Registry is the Windows registry (nil elsewhere); Elevation says
	// whether the process may write machine-wide settings.
	Registry  platform.Registry
	Elevation platform.Elevation
	// LiveProber performs live handshakes (probe, fix --verify); nil means
	// platform/probe's raw-handshake prober (see Prober).
	LiveProber platform.Prober
	// Hostname names this machine in reports; nil leaves it out.
	Hostname func() (string, error)
}

// Prober returns LiveProber, or the raw-handshake prober.
func (f *Factory) Prober() platform.Prober {
	if f.LiveProber != nil {
		return f.LiveProber
	}
	return probe.New(probe.Options{})
}

// Writer returns NewWriter(root), or the real disk seen from root.
func (f *Factory) Writer(root string) platform.Writer {
	if f.NewWriter != nil {
		return f.NewWriter(root)
	}
	return platform.NewOSWriter(root)
}

// ServiceManager returns Services, or systemd/OpenRC/SysV/binary reloads
// through Runner with init scripts looked up on the real root.
func (f *Factory) ServiceManager() platform.ServiceManager {
	if f.Services != nil {
		return f.Services
	}
	return platform.Services{Runner: f.Runner, FS: platform.NewOSFS("")}
}

// annotationSignals marks a command that turns SIGINT and SIGTERM into a
// cancelled context (see CatchSignals).
const annotationSignals = "tlsfloor/catch-signals"

// CatchSignals marks cmd as one that must finish cleanly when interrupted:
// root cancels its context on SIGINT or SIGTERM instead of letting the
// signal end the process, so a fix can put back what it changed. Commands
// that write nothing (audit, probe) keep the default, immediate exit: the
// os/signal machinery costs a dedicated thread, a fifth of a millisecond
// at every start.
func CatchSignals(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationSignals] = "true"
}

// CatchesSignals reports whether CatchSignals marked cmd.
func CatchesSignals(cmd *cobra.Command) bool { return cmd.Annotations[annotationSignals] == "true" }

// Components is the --only flag of audit and fix: the parts of the host a
// command looks at, by scanner name (nginx, apache, openssl). Nil selects
// every part.
type Components map[string]bool

// Has reports whether the component name is selected.
func (c Components) Has(name string) bool { return c == nil || c[name] }

// ParseComponents validates --only values (repeated or comma-separated)
// against the components the command knows on this platform. No values
// select everything.
func ParseComponents(values, allowed []string) (Components, error) {
	if len(values) == 0 {
		return nil, nil
	}
	c := Components{}
	for _, v := range values {
		name := strings.ToLower(strings.TrimSpace(v))
		if !slices.Contains(allowed, name) {
			return nil, FlagErrorf("invalid --only %q: want %s", v, strings.Join(allowed, ", "))
		}
		c[name] = true
	}
	return c, nil
}

// Format is the --format flag's value.
type Format string

// Output formats.
const (
	FormatText Format = "text"
	FormatJSON Format = "json"
)

// ParseFormat validates --format.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "text":
		return FormatText, nil
	case "json":
		return FormatJSON, nil
	}
	return "", FlagErrorf("invalid --format %q: want text or json", s)
}

// CheckRoot validates --root: an existing directory, or empty for the
// machine itself. A mistyped root would otherwise be read as an empty tree,
// and an audit of nothing is compliant.
func CheckRoot(root string) error {
	if root == "" {
		return nil
	}
	fi, err := os.Stat(root)
	switch {
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return FlagErrorf("invalid --root %q: %v", root, err)
	case !fi.IsDir():
		return FlagErrorf("invalid --root %q: not a directory", root)
	}
	return nil
}

// AddDiscoveryFlags binds the flags that audit and fix share for finding
// configuration and binaries.
func AddDiscoveryFlags(fl *pflag.FlagSet, o *audit.Options) {
	fl.StringVar(&o.Root, "root", "", "treat `DIR` as the file-system root for discovery, includes and absolute paths")
	fl.StringVar(&o.NginxConf, "nginx-conf", "", "nginx main configuration `FILE` (default: from nginx -V, then the usual paths)")
	fl.StringVar(&o.NginxBin, "nginx-bin", "", "nginx `BINARY` to ask for its version and config path (default: nginx on PATH)")
	fl.StringVar(&o.NginxVersion, "nginx-version", "", "assume this nginx `VERSION` (e.g. 1.22.1) instead of asking the binary")
	fl.StringVar(&o.ApacheConf, "apache-conf", "", "Apache main configuration `FILE` (default: from apachectl -V, then the usual paths)")
	fl.StringVar(&o.ApacheBin, "apache-bin", "", "apachectl, apache2ctl or httpd `BINARY` (default: the first on PATH)")
	fl.StringVar(&o.OpenSSLBin, "openssl-bin", "", "openssl `BINARY` whose version to report (default: openssl on PATH)")
}

// WriteJSON writes v as indented JSON with a final newline, without HTML
// escaping ("->" stays readable): the one JSON form every command prints.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
