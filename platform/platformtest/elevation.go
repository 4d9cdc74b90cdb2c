package platformtest

import "github.com/tlsfloor/tlsfloor/platform"

// Elevation is a platform.Elevation that always answers the same: whether
// the process runs elevated (administrator, root).
type Elevation bool

// Elevated implements platform.Elevation.
func (e Elevation) Elevated() (bool, error) { return bool(e), nil }

var _ platform.Elevation = Elevation(false)
