// Package version implements `tlsfloor version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
)

// NewCmdVersion builds `tlsfloor version`.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the tlsfloor version",
		Args:    cobra.NoArgs,
		Example: "  tlsfloor version",
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(f.IO.Out, "tlsfloor %s (%s, %s/%s)\n", f.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
