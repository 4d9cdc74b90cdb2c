package rollback

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/txn"
)

// listSchemaVersion versions the JSON of --list and of a rollback.
const listSchemaVersion = 1

// runFiles lists backups or restores configuration files from one.
func runFiles(ctx context.Context, opts *Options) error {
	f := opts.Factory
	if opts.List {
		return listBackups(f.IO, opts)
	}
	deps := txn.Deps{FS: f.Writer(opts.Root), Runner: f.Runner, Out: f.IO.ErrOut}
	if opts.Reload {
		deps.Services = f.ServiceManager()
	}
	res, err := txn.Rollback(ctx, deps, txn.RollbackOptions{
		BackupDir: opts.BackupDir, ID: opts.ID, Last: opts.Last, Force: opts.Force,
		Reload: opts.Reload, Root: opts.Root, Now: f.Now,
	})
	if res != nil && (err == nil || len(res.Restored) > 0) {
		if perr := printResult(f.IO.Out, opts.Format, res); perr != nil && err == nil {
			err = perr
		}
	}
	var rf *txn.RollbackFailedError
	var refused *remediate.RefusedError
	switch {
	case errors.As(err, &rf):
		return cmdutil.Exit(cmdutil.ExitRollbackFailed, err)
	case errors.As(err, &refused):
		return cmdutil.Exit(cmdutil.ExitUsage, err) // nothing was written
	}
	return err
}

func printResult(w io.Writer, format cmdutil.Format, res *txn.RollbackResult) error {
	if format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(w, struct {
			SchemaVersion int `json:"schema_version"`
			*txn.RollbackResult
		}{listSchemaVersion, res})
	}
	fmt.Fprintf(w, "Rolled back %s (%s)\n", res.BackupID, res.BackupPath)
	for _, p := range res.Restored {
		mark := "restored"
		for _, fp := range res.Forced {
			if fp == p {
				mark = "restored (forced)"
			}
		}
		fmt.Fprintf(w, "  %-18s %s\n", mark, p)
	}
	for _, p := range res.Unchanged {
		fmt.Fprintf(w, "  %-18s %s\n", "already original", p)
	}
	for _, r := range res.Reload {
		fmt.Fprintf(w, "  %-18s %s: %s\n", "reloaded", r.Server, strings.Join(r.Argv, " "))
	}
	return nil
}

func listBackups(ios *cmdutil.IOStreams, opts *Options) error {
	infos, err := txn.List(opts.BackupDir)
	if err != nil {
		return err
	}
	if opts.Format == cmdutil.FormatJSON {
		if infos == nil {
			infos = []txn.BackupInfo{}
		}
		return cmdutil.WriteJSON(ios.Out, struct {
			SchemaVersion int              `json:"schema_version"`
			BackupDir     string           `json:"backup_dir"`
			Backups       []txn.BackupInfo `json:"backups"`
		}{listSchemaVersion, opts.BackupDir, infos})
	}
	if len(infos) == 0 {
		fmt.Fprintf(ios.ErrOut, "no backups in %s\n", opts.BackupDir)
		return nil
	}
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tSTATUS\tFILES")
	for _, in := range infos {
		created := "-"
		if !in.Created.IsZero() {
			created = in.Created.UTC().Format(time.RFC3339)
		}
		files := fmt.Sprintf("%d", len(in.Files))
		if len(in.Files) > 0 {
			files += " (" + in.Files[0]
			if len(in.Files) > 1 {
				files += ", ..."
			}
			files += ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.ID, created, in.Status, files)
	}
	return tw.Flush()
}
