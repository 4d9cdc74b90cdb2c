package root

import (
	"github.com/spf13/cobra"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	fixCmd "github.com/tlsfloor/tlsfloor/cmd/fix"
	probeCmd "github.com/tlsfloor/tlsfloor/cmd/probe"
	rollbackCmd "github.com/tlsfloor/tlsfloor/cmd/rollback"
)

// addExtraCommands registers the commands beyond audit and version. Each
// command package adds one line here.
func addExtraCommands(root *cobra.Command, f *cmdutil.Factory) {
	root.AddCommand(fixCmd.NewCmdFix(f, nil))
	root.AddCommand(rollbackCmd.NewCmdRollback(f, nil))
	root.AddCommand(probeCmd.NewCmdProbe(f, nil))
}
