package fix

import (
	"context"
	"errors"
)

// runFiles fixes nginx and Apache configuration files.
func runFiles(ctx context.Context, opts *Options) error {
	return errors.New("fix: file remediation is not built yet")
}
