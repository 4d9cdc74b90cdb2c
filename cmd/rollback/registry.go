package rollback

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/registry"
)

// runRegistry lists registry backups or restores one exactly.
func runRegistry(ctx context.Context, opts *Options) error {
	f := opts.Factory
	ios := f.IO
	if opts.List {
		infos, err := registry.List(opts.BackupDir)
		if err != nil {
			return err
		}
		if opts.Format == cmdutil.FormatJSON {
			return cmdutil.WriteJSON(ios.Out, struct {
				SchemaVersion int                   `json:"schema_version"`
				BackupDir     string                `json:"backup_dir"`
				Backups       []registry.BackupInfo `json:"backups"`
			}{listSchemaVersion, opts.BackupDir, infos})
		}
		if len(infos) == 0 {
			fmt.Fprintf(ios.ErrOut, "no registry backups in %s\n", opts.BackupDir)
			return nil
		}
		tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tCREATED\tSTATUS\tVALUES\tOS")
		for _, in := range infos {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", in.ID, in.Created.UTC().Format(time.RFC3339), in.Status, in.Values, in.OS)
		}
		return tw.Flush()
	}
	if f.Registry == nil {
		return platform.ErrUnsupportedPlatform
	}
	now := f.Now
	if now == nil {
		now = time.Now
	}
	res, err := registry.Rollback(ctx, registry.Deps{Reg: f.Registry, Elevation: f.Elevation, Now: now, Log: ios.ErrOut},
		registry.RollbackOptions{BackupDir: opts.BackupDir, ID: opts.ID, Last: opts.Last, Force: opts.Force})
	var rf *registry.RollbackFailedError
	var refused *remediate.RefusedError
	switch {
	case errors.As(err, &rf):
		return cmdutil.Exit(cmdutil.ExitRollbackFailed, err)
	case errors.As(err, &refused): // not elevated, no backup, changed since: nothing written
		return cmdutil.Exit(cmdutil.ExitUsage, err)
	case err != nil:
		return err
	}
	if opts.Format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(ios.Out, struct {
			SchemaVersion int `json:"schema_version"`
			*registry.RollbackResult
		}{listSchemaVersion, res})
	}
	fmt.Fprintf(ios.Out, "Rolled back %s (%s): %d values restored, keys the fix created deleted.\n", res.ID, res.Dir, res.Restored)
	for _, d := range res.Drifted {
		fmt.Fprintf(ios.Out, "  restored although changed after the fix: %s\n", d)
	}
	fmt.Fprintln(ios.Out, "Restart the machine (or the services that use TLS) for SChannel and .NET to pick up the old values.")
	return nil
}
