// Package root wires the cobra command tree, creates the signal-aware
// context, and turns errors into exit codes. It is the only place that
// prints an error and the only place that decides the exit code.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	auditCmd "github.com/tlsfloor/tlsfloor/cmd/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	versionCmd "github.com/tlsfloor/tlsfloor/cmd/version"
	"github.com/tlsfloor/tlsfloor/platform"
)

// Version is set at build time with -ldflags "-X .../cmd/root.Version=v1.2.3".
var Version = ""

func buildVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// NewFactory builds the production dependencies.
func NewFactory() *cmdutil.Factory {
	f := &cmdutil.Factory{
		IO:      cmdutil.System(os.Getenv),
		Runner:  platform.ExecRunner{Timeout: platform.DefaultTimeout},
		Getenv:  os.Getenv,
		Now:     time.Now,
		Version: buildVersion(),
		NewFS:   func(root string) platform.FS { return platform.NewOSFS(root) },
		// Hostname: the name reports carry, so that a fleet's reports say
		// where each one came from.
		Hostname: os.Hostname,
	}
	// There is a registry on Windows only; elsewhere the field stays nil.
	if reg, err := platform.NewRegistry(); err == nil {
		f.Registry = reg
	}
	f.Elevation = platform.NewElevation()
	return f
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tlsfloor <command>",
		Short: "Find and remove TLS 1.0/1.1 on a host",
		Long: `tlsfloor finds every place on a host that decides which TLS versions are
allowed (nginx, Apache, the OpenSSL they link, system crypto policy; on
Windows SChannel, .NET, WinHTTP and Internet Options), explains why each
legacy protocol is on, and rewrites the configuration to TLS 1.2/1.3 with a
diff first, backups and automatic rollback.`,
		Example: `  # Audit this host, human-readable
  tlsfloor audit

  # Machine-readable report, failing only on high and critical findings
  tlsfloor audit --format json --fail-on high

  # Audit a mounted image
  tlsfloor audit --root /mnt/image`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       f.Version,
	}
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetIn(f.IO.In)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: err}
	})
	cmd.AddCommand(auditCmd.NewCmdAudit(f, nil))
	cmd.AddCommand(versionCmd.NewCmdVersion(f))
	addExtraCommands(cmd, f)
	cmd.AddCommand(&cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes shared by every command",
		Long:  "tlsfloor exits with the same codes in every output format:\n\n" + cmdutil.ExitCodeTable,
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "environment",
		Short: "Environment variables tlsfloor reads",
		Long: `  NO_COLOR           any value: never colour the output
  CLICOLOR=0         no colour
  CLICOLOR_FORCE     not 0: colour even when stdout is not a terminal
  TLSFLOOR_FORCE_TTY any value: treat stdin/stdout as a terminal (tests)`,
	})
	return cmd
}

// Main runs the CLI with os.Args and returns the exit code.
func Main() int {
	return Execute(context.Background(), NewFactory(), os.Args[1:])
}

// Execute runs the command tree with args and maps the error to an exit code.
// It prints the error once, to stderr.
func Execute(ctx context.Context, f *cmdutil.Factory, args []string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(f.IO.ErrOut, "tlsfloor: internal error: %v\n%s", r, debug.Stack())
			code = cmdutil.ExitFailure
		}
	}()
	cmd := NewCmdRoot(f)
	stopSignals := func() {}
	defer func() { stopSignals() }()
	// Commands marked with cmdutil.CatchSignals see SIGINT and SIGTERM as
	// a cancelled context; the others end at once, as they write nothing.
	cmd.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if cmdutil.CatchesSignals(c) {
			var sctx context.Context
			sctx, stopSignals = signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			c.SetContext(sctx)
		}
		return nil
	}
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return ExitCode(err, f, cmd)
}

// ExitCode maps an error to the exit-code table and prints it.
func ExitCode(err error, f *cmdutil.Factory, cmd *cobra.Command) int {
	if err == nil {
		return cmdutil.ExitOK
	}
	var ee *cmdutil.ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(f.IO.ErrOut, "tlsfloor: %v\n", ee.Err)
		}
		return ee.Code
	}
	if cmdutil.IsFlagError(err) || isCobraUsageError(err) {
		fmt.Fprintf(f.IO.ErrOut, "tlsfloor: %v\nRun 'tlsfloor --help' for usage.\n", err)
		return cmdutil.ExitUsage
	}
	fmt.Fprintf(f.IO.ErrOut, "tlsfloor: %v\n", err)
	return cmdutil.ExitFailure
}

// isCobraUsageError recognises cobra's own argument errors, which it returns
// as plain errors.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "requires at most", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
