package rollback

import (
	"context"
	"errors"
)

// runRegistry restores registry values from a backup.
func runRegistry(ctx context.Context, opts *Options) error {
	return errors.New("rollback: registry rollback is not built yet")
}
