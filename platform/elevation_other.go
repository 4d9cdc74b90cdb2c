//go:build !windows

package platform

import "os"

// NewElevation reports root as elevated.
func NewElevation() Elevation {
	return ElevationFunc(func() (bool, error) { return os.Geteuid() == 0, nil })
}
