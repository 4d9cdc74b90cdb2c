package root

import (
	"github.com/spf13/cobra"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
)

// addExtraCommands registers the commands beyond audit and version. Each
// command package adds one line here.
func addExtraCommands(root *cobra.Command, f *cmdutil.Factory) {
}
