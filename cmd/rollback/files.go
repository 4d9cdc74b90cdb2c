package rollback

import (
	"context"
	"errors"
)

// runFiles restores configuration files from a backup.
func runFiles(ctx context.Context, opts *Options) error {
	return errors.New("rollback: file rollback is not built yet")
}
