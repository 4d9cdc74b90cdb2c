// Package audit implements `tlsfloor audit`: it binds flags to Options,
// builds the scanners for this platform, runs them and renders the report.
// The exit code is the same in every format.
package audit

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/report"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
)

// Options are the parsed flags and injected dependencies of audit.
type Options struct {
	Factory    *cmdutil.Factory
	Discovery  audit.Options
	Format     cmdutil.Format
	MinVersion audit.Protocol
	FailOn     audit.Severity
	Live       bool
	// Only limits the audit to some components (--only); nil audits all.
	Only cmdutil.Components
	GOOS string

	formatFlag, minFlag, failFlag string
	onlyFlag                      []string
}

// Components lists what --only can select on goos: the Linux scanners by
// name. Windows has one component, the registry, and no --only.
func Components(goos string) []string {
	if goos == "windows" {
		return nil
	}
	return []string{"nginx", "apache", "openssl"}
}

// NewCmdAudit builds `tlsfloor audit`. runF replaces the run function in tests.
func NewCmdAudit(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f, GOOS: runtime.GOOS}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Report every place on this host that allows TLS 1.0/1.1",
		Long: `Audit finds the configuration of every component that decides TLS versions
and reports, for each TLS-serving context, the protocols it allows and why: a
directive at file:line, inheritance from a parent block, or the server's
built-in default for its version.

On Linux: nginx, Apache httpd, the OpenSSL CLI and the libraries the servers
link, and the system crypto policy. On Windows: SChannel, .NET Framework,
WinHTTP and Internet Options (registry keys).

Exit status: 0 compliant, 3 findings at or above --fail-on, 2 unusable input
(a path:line: error), 1 unexpected error.`,
		Example: `  # Audit this host
  tlsfloor audit

  # JSON for a fleet dashboard; non-zero exit only for high and critical
  tlsfloor audit --format json --fail-on high

  # Require TLS 1.3
  tlsfloor audit --min-version 1.3

  # nginx only, with its listeners probed
  tlsfloor audit --only nginx --live

  # A specific nginx tree of a given version, e.g. in a container image
  tlsfloor audit --root /mnt/image --nginx-conf /etc/nginx/nginx.conf --nginx-version 1.22.1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Format, err = cmdutil.ParseFormat(opts.formatFlag); err != nil {
				return err
			}
			if opts.MinVersion, err = ParseMinVersion(opts.minFlag); err != nil {
				return err
			}
			if err := cmdutil.CheckRoot(opts.Discovery.Root); err != nil {
				return err
			}
			if opts.FailOn, err = audit.ParseSeverity(opts.failFlag); err != nil {
				return cmdutil.FlagErrorf("invalid --fail-on: %v", err)
			}
			if len(opts.onlyFlag) > 0 && Components(opts.GOOS) == nil {
				return cmdutil.FlagErrorf("--only selects nginx, apache or openssl; on Windows the audit reads the registry only")
			}
			if opts.Only, err = cmdutil.ParseComponents(opts.onlyFlag, Components(opts.GOOS)); err != nil {
				return err
			}
			if opts.Live && !opts.Only.Has("nginx") && !opts.Only.Has("apache") {
				return cmdutil.FlagErrorf("--live probes nginx and Apache listeners: --only must name nginx or apache")
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
	fl.StringVar(&opts.minFlag, "min-version", "1.2", "oldest allowed TLS `VERSION`: 1.2 or 1.3")
	fl.StringVar(&opts.failFlag, "fail-on", "medium", "least `SEVERITY` that makes the host non-compliant (info, low, medium, high, critical)")
	fl.BoolVar(&opts.Live, "live", false, "also probe every TLS listener the configs define and compare configured with observed")
	fl.StringSliceVar(&opts.onlyFlag, "only", nil, "audit only these `COMPONENTS`: nginx, apache, openssl (repeat or separate with commas)")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("min-version", cobra.FixedCompletions([]string{"1.2", "1.3"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("only", cobra.FixedCompletions(Components(opts.GOOS), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions(audit.SeverityNames(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// ParseMinVersion validates --min-version.
func ParseMinVersion(s string) (audit.Protocol, error) {
	switch s {
	case "1.2", "TLSv1.2", "tls1.2":
		return audit.TLS12, nil
	case "1.3", "TLSv1.3", "tls1.3":
		return audit.TLS13, nil
	}
	return 0, cmdutil.FlagErrorf("invalid --min-version %q: want 1.2 or 1.3", s)
}

// NewEnv builds the scanner environment from the options.
func NewEnv(f *cmdutil.Factory, d audit.Options, p audit.Policy) *audit.Env {
	env := &audit.Env{
		FS:      f.NewFS(d.Root),
		Runner:  f.Runner,
		Getenv:  f.Getenv,
		Now:     f.Now,
		Policy:  p,
		Options: d,
	}
	// Registry is nil outside Windows; the Windows scanner needs it.
	env.Registry = f.Registry
	return env
}

// Run audits the host and renders the report.
func Run(ctx context.Context, opts *Options) error {
	f := opts.Factory
	policy := audit.Policy{MinProtocol: opts.MinVersion, FailOn: opts.FailOn}
	env := NewEnv(f, opts.Discovery, policy)
	rep, err := Audit(ctx, env, f.Version, opts.GOOS, opts.Live, opts.Only)
	if err != nil {
		if audit.IsConfigError(err) {
			return cmdutil.Exit(cmdutil.ExitUsage, err)
		}
		return err
	}
	rep.Host = hostInfo(f, opts)
	if f.Now != nil {
		rep.GeneratedAt = f.Now().UTC().Format(time.RFC3339)
	}
	switch opts.Format {
	case cmdutil.FormatJSON:
		err = report.WriteJSON(f.IO.Out, rep)
	default:
		err = report.WriteText(f.IO.Out, rep, report.TextOptions{Color: f.IO.ColorEnabled()})
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if !rep.Summary.Compliant {
		return cmdutil.Exit(cmdutil.ExitNonCompliant, nil)
	}
	return nil
}

// hostInfo names the machine and the tree the report describes.
func hostInfo(f *cmdutil.Factory, opts *Options) *audit.HostInfo {
	h := &audit.HostInfo{OS: opts.GOOS, Root: opts.Discovery.Root}
	if h.Root == "" && opts.GOOS != "windows" {
		h.Root = "/"
	}
	if f.Hostname != nil {
		if name, err := f.Hostname(); err == nil {
			h.Name = name
		}
	}
	return h
}

// Audit runs the platform's scanners that only selects (nil: all) and
// returns the finished report.
func Audit(ctx context.Context, env *audit.Env, version, goos string, live bool, only cmdutil.Components) (*audit.Report, error) {
	var scanners []audit.Scanner
	for _, s := range DefaultScanners(goos) {
		if only.Has(s.Name()) {
			scanners = append(scanners, s)
		}
	}
	if live {
		scanners = append(scanners, liveScanners(only)...)
	}
	return audit.Run(ctx, env, audit.Tool{Name: "tlsfloor", Version: version}, scanners)
}
