package fix

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/remediate/registry"
)

// registryJSONVersion versions the JSON of a registry fix.
const registryJSONVersion = 1

// registryReport is fix's JSON output on Windows.
type registryReport struct {
	SchemaVersion   int               `json:"schema_version"`
	OS              string            `json:"os"`
	Target          audit.ProtocolSet `json:"target"`
	Changes         []registry.Change `json:"changes"`
	Notes           []string          `json:"notes"`
	Status          string            `json:"status"` // nothing-to-change, dry-run, declined, not-confirmed, applied, rolled-back, rollback-failed
	BackupID        string            `json:"backup_id,omitempty"`
	BackupDir       string            `json:"backup_dir,omitempty"`
	RestartRequired bool              `json:"restart_required"`
	Error           string            `json:"error,omitempty"`
}

const restartNote = "Restart the machine (or at least the services that use TLS) for the SChannel and .NET changes to take effect; tlsfloor never restarts it for you."

// runRegistry fixes the Windows registry settings: plan, diff, confirm,
// backup, write, and put everything back if a write fails.
func runRegistry(ctx context.Context, opts *Options) error {
	f := opts.Factory
	if f.Registry == nil {
		return platform.ErrUnsupportedPlatform
	}
	ios := f.IO
	plan, err := registry.NewPlan(f.Registry, registry.Options{MinProtocol: opts.MinVersion, TLS13: registry.TLS13(opts.TLS13)})
	if err != nil {
		if audit.IsConfigError(err) || errors.Is(err, registry.ErrTLS13Unsupported) {
			return cmdutil.Exit(cmdutil.ExitUsage, err)
		}
		return err
	}
	rep := &registryReport{SchemaVersion: registryJSONVersion, OS: plan.OS.String(), Target: plan.Target,
		Changes: plan.Changes, Notes: plan.Notes, RestartRequired: plan.RestartRequired()}
	if rep.Changes == nil {
		rep.Changes = []registry.Change{}
	}
	if rep.Notes == nil {
		rep.Notes = []string{}
	}
	if opts.Format == cmdutil.FormatText {
		if err := plan.WriteDiff(ios.Out); err != nil {
			return err
		}
	}
	// finish prints the JSON (text was printed as we went) and returns err.
	finish := func(status string, err error) error {
		rep.Status = status
		if err != nil {
			var ee *cmdutil.ExitError
			if !errors.As(err, &ee) || ee.Err != nil {
				rep.Error = err.Error()
			}
		}
		if opts.Format == cmdutil.FormatJSON {
			if werr := cmdutil.WriteJSON(ios.Out, rep); werr != nil && err == nil {
				return werr
			}
		}
		return err
	}
	if plan.Empty() {
		rep.RestartRequired = false
		return finish("nothing-to-change", nil)
	}
	if opts.Reload || opts.Restart || opts.Verify {
		fmt.Fprintln(ios.ErrOut, "note: --reload, --restart and --verify do nothing on Windows: restart the services or the machine yourself")
	}
	if opts.DryRun {
		return finish("dry-run", cmdutil.Exit(cmdutil.ExitNonCompliant, nil))
	}
	// Check before asking: a "yes" that then fails for lack of rights helps
	// nobody.
	if err := registry.CheckElevated(f.Elevation); err != nil {
		return finish("not-elevated", cmdutil.Exit(cmdutil.ExitUsage, err))
	}
	if !opts.Yes {
		if !ios.InTTY {
			fmt.Fprintln(ios.ErrOut, "tlsfloor: no terminal to confirm on; nothing written. Rerun with --yes to apply.")
			return finish("not-confirmed", cmdutil.Exit(cmdutil.ExitNonCompliant, nil))
		}
		if !askYes(ctx, ios.In, ios.ErrOut, fmt.Sprintf("Write these %d registry values? [y/N] ", len(plan.Changes))) {
			fmt.Fprintln(ios.ErrOut, "Nothing written.")
			return finish("declined", cmdutil.Exit(cmdutil.ExitNonCompliant, nil))
		}
	}
	now := f.Now
	if now == nil {
		now = time.Now
	}
	res, err := registry.Apply(ctx, registry.Deps{Reg: f.Registry, Elevation: f.Elevation, Now: now, Log: ios.ErrOut},
		plan, registry.ApplyOptions{BackupDir: opts.BackupDir, ToolVersion: f.Version})
	var rb *registry.RolledBackError
	var rf *registry.RollbackFailedError
	switch {
	case errors.As(err, &rf):
		rep.BackupDir = rf.Dir
		return finish("rollback-failed", cmdutil.Exit(cmdutil.ExitRollbackFailed, err))
	case errors.As(err, &rb):
		rep.BackupDir = rb.Dir
		rep.RestartRequired = false
		return finish("rolled-back", cmdutil.Exit(cmdutil.ExitRolledBack, err))
	case errors.Is(err, registry.ErrNotElevated):
		return finish("not-elevated", cmdutil.Exit(cmdutil.ExitUsage, err))
	case err != nil:
		return finish("failed", err)
	}
	rep.BackupID, rep.BackupDir = res.ID, res.Dir
	if opts.Format == cmdutil.FormatText {
		fmt.Fprintf(ios.Out, "\nWrote %d values. Backup %s in %s (undo with: tlsfloor rollback --last).\n", res.Written, res.ID, res.Dir)
		if res.RestartRequired {
			fmt.Fprintln(ios.Out, restartNote)
		}
	}
	return finish("applied", nil)
}
