// Package fix implements `tlsfloor fix`: it plans the change, prints the
// diff first, and applies it as one transaction (backup, atomic write,
// config test, reload, verify, rollback). Files on Linux (files.go) and the
// registry on Windows (registry.go) share the flags and the exit codes.
package fix

import (
	"context"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/tlsfloor/tlsfloor/audit"
	auditCmd "github.com/tlsfloor/tlsfloor/cmd/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform/probe"
)

// TLS13Mode is the --tls13 flag.
type TLS13Mode string

// --tls13 values.
const (
	TLS13Auto TLS13Mode = "auto" // enable TLS 1.3 where the server and its library support it
	TLS13On   TLS13Mode = "on"   // always write TLS 1.3 (the config test decides)
	TLS13Off  TLS13Mode = "off"  // TLS 1.2 only
)

// Options are fix's parsed flags and dependencies.
type Options struct {
	Factory    *cmdutil.Factory
	Discovery  audit.Options
	Format     cmdutil.Format
	MinVersion audit.Protocol
	TLS13      TLS13Mode
	DryRun     bool
	Yes        bool
	Reload     bool
	Restart    bool
	Verify     bool
	BackupDir  string
	// Only limits the fix to nginx or Apache (--only); nil fixes both.
	Only cmdutil.Components
	GOOS string

	// verifySettle tunes how long --verify waits for good answers; zero
	// takes platform/probe's defaults (tests shorten it).
	verifySettle probe.SettleOptions

	formatFlag, minFlag, tls13Flag string
	onlyFlag                       []string
}

// DefaultBackupDir is where backups go unless --backup-dir says otherwise:
// outside every config tree, so no include glob can load a backup.
func DefaultBackupDir(goos string, getenv func(string) string) string {
	if goos == "windows" {
		pd := getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return pd + `\tlsfloor\backups`
	}
	return "/var/lib/tlsfloor/backups"
}

// NewCmdFix builds `tlsfloor fix`. runF replaces the run function in tests.
func NewCmdFix(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f, GOOS: runtime.GOOS}
	cmd := &cobra.Command{
		Use:   "fix",
		Short: "Rewrite the configuration to TLS 1.2/1.3, diff first, with backup and rollback",
		Long: `Fix plans the smallest change that removes SSLv2/SSLv3/TLS 1.0/TLS 1.1 and
enables TLS 1.2 (and TLS 1.3 where the server and its library support it),
prints it as a unified diff (or, on Windows, as a list of registry values
old -> new), and then applies it as one transaction: lock, backup outside the
config tree, atomic writes, the server's own config test, optional reload and
verification; any failure restores every byte.

--dry-run stops after the diff (exit 3 when changes are pending, 0 when there
is nothing to change). Without --dry-run, fix asks on a terminal; without a
terminal it applies only with --yes.`,
		Example: `  # Show what would change
  tlsfloor fix --dry-run

  # Apply without asking, then reload the servers and prove it with handshakes
  tlsfloor fix --yes --verify

  # TLS 1.3 only
  tlsfloor fix --min-version 1.3 --yes

  # nginx only; Apache stays as it is
  tlsfloor fix --only nginx --dry-run

  # Undo the last fix
  tlsfloor rollback --last`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Format, err = cmdutil.ParseFormat(opts.formatFlag); err != nil {
				return err
			}
			if opts.MinVersion, err = auditCmd.ParseMinVersion(opts.minFlag); err != nil {
				return err
			}
			switch TLS13Mode(opts.tls13Flag) {
			case TLS13Auto, TLS13On, TLS13Off:
				opts.TLS13 = TLS13Mode(opts.tls13Flag)
			default:
				return cmdutil.FlagErrorf("invalid --tls13 %q: want auto, on or off", opts.tls13Flag)
			}
			if opts.MinVersion == audit.TLS13 && opts.TLS13 == TLS13Off {
				return cmdutil.FlagErrorf("--min-version 1.3 contradicts --tls13 off")
			}
			if len(opts.onlyFlag) > 0 && opts.GOOS == "windows" {
				return cmdutil.FlagErrorf("--only selects nginx or apache; on Windows fix changes the registry only")
			}
			if opts.Only, err = cmdutil.ParseComponents(opts.onlyFlag, []string{"nginx", "apache"}); err != nil {
				return err
			}
			if err := cmdutil.CheckRoot(opts.Discovery.Root); err != nil {
				return err
			}
			if opts.DryRun && opts.Yes {
				return cmdutil.FlagErrorf("--dry-run and --yes cannot be used together")
			}
			if opts.Verify {
				opts.Reload = true
			}
			if opts.Reload && opts.Restart {
				return cmdutil.FlagErrorf("--reload and --restart cannot be used together")
			}
			if opts.BackupDir == "" {
				opts.BackupDir = DefaultBackupDir(opts.GOOS, f.Getenv)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	cmdutil.AddDiscoveryFlags(fl, &opts.Discovery)
	fl.StringVar(&opts.formatFlag, "format", "text", "output `FORMAT`: text or json")
	fl.StringVar(&opts.minFlag, "min-version", "1.2", "oldest TLS `VERSION` to keep: 1.2 or 1.3")
	fl.StringVar(&opts.tls13Flag, "tls13", "auto", "TLS 1.3: auto (where supported), on, off")
	fl.BoolVarP(&opts.DryRun, "dry-run", "n", false, "print the diff and stop (exit 3 when changes are pending)")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "apply without asking")
	fl.BoolVar(&opts.Reload, "reload", false, "reload the changed servers after the config test passes")
	fl.BoolVar(&opts.Restart, "restart", false, "restart the changed servers instead of reloading them")
	fl.BoolVar(&opts.Verify, "verify", false, "after reloading, prove the change with live handshakes (implies --reload)")
	fl.StringSliceVar(&opts.onlyFlag, "only", nil, "fix only these `SERVERS`: nginx, apache (repeat or separate with commas)")
	fl.StringVar(&opts.BackupDir, "backup-dir", "", "backup `DIR` (default /var/lib/tlsfloor/backups; Windows %ProgramData%\\tlsfloor\\backups)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("only", cobra.FixedCompletions([]string{"nginx", "apache"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("tls13", cobra.FixedCompletions([]string{"auto", "on", "off"}, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.CatchSignals(cmd)
	return cmd
}

// Run dispatches to the file fixer or the registry fixer.
func Run(ctx context.Context, opts *Options) error {
	if opts.GOOS == "windows" {
		return runRegistry(ctx, opts)
	}
	return runFiles(ctx, opts)
}
