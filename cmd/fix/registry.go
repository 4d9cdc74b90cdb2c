package fix

import (
	"context"
	"errors"
)

// runRegistry fixes the Windows registry settings.
func runRegistry(ctx context.Context, opts *Options) error {
	return errors.New("fix: registry remediation is not built yet")
}
