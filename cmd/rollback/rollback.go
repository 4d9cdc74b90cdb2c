// Package rollback implements `tlsfloor rollback`: it lists backups and
// restores one (files on Linux in files.go, registry values on Windows in
// registry.go), refusing when something changed after the fix unless --force.
package rollback

import (
	"context"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	fixCmd "github.com/tlsfloor/tlsfloor/cmd/fix"
)

// Options are rollback's parsed flags and dependencies.
type Options struct {
	Factory   *cmdutil.Factory
	ID        string
	Last      bool
	List      bool
	Force     bool
	Reload    bool
	BackupDir string
	Root      string
	Format    cmdutil.Format
	GOOS      string

	formatFlag string
}

// NewCmdRollback builds `tlsfloor rollback`.
func NewCmdRollback(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f, GOOS: runtime.GOOS}
	cmd := &cobra.Command{
		Use:   "rollback [ID]",
		Short: "Put back every byte (or registry value) a fix changed",
		Long: `Rollback restores the files (or registry values) saved by a fix: every byte,
mode and owner, and on Windows deletes the values and keys the fix created.
It refuses when a file was changed by someone else after the fix, unless
--force.`,
		Example: `  # List backups, newest last
  tlsfloor rollback --list

  # Undo the most recent fix
  tlsfloor rollback --last

  # Undo a specific fix and reload the servers
  tlsfloor rollback 20261128T233000Z-4f2a --reload`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Format, err = cmdutil.ParseFormat(opts.formatFlag); err != nil {
				return err
			}
			if err := cmdutil.CheckRoot(opts.Root); err != nil {
				return err
			}
			if len(args) == 1 {
				opts.ID = args[0]
			}
			n := 0
			for _, b := range []bool{opts.ID != "", opts.Last, opts.List} {
				if b {
					n++
				}
			}
			if n != 1 {
				return cmdutil.FlagErrorf("give exactly one of a backup ID, --last or --list")
			}
			if opts.BackupDir == "" {
				opts.BackupDir = fixCmd.DefaultBackupDir(opts.GOOS, f.Getenv)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Last, "last", false, "restore the most recent backup")
	fl.BoolVar(&opts.List, "list", false, "list the backups")
	fl.BoolVar(&opts.Force, "force", false, "restore even if a file changed after the fix")
	fl.BoolVar(&opts.Reload, "reload", false, "reload the servers after restoring")
	fl.StringVar(&opts.BackupDir, "backup-dir", "", "backup `DIR` (default as for fix)")
	fl.StringVar(&opts.Root, "root", "", "treat `DIR` as the file-system root (as given to fix)")
	fl.StringVar(&opts.formatFlag, "format", "text", "output `FORMAT`: text or json")
	cmdutil.CatchSignals(cmd)
	return cmd
}

// Run dispatches to the file or registry rollback.
func Run(ctx context.Context, opts *Options) error {
	if opts.GOOS == "windows" {
		return runRegistry(ctx, opts)
	}
	return runFiles(ctx, opts)
}
