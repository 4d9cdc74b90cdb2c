package platform

// Elevation tells whether the process may change machine-wide settings:
// an elevated (UAC "Run as administrator") token on Windows, root elsewhere.
// It is an interface so the refusal path can be tested with a fake; Wine
// grants everyone write access to HKLM, so it cannot test it.
type Elevation interface {
	Elevated() (bool, error)
}

// ElevationFunc adapts a function to Elevation.
type ElevationFunc func() (bool, error)

// Elevated implements Elevation.
func (f ElevationFunc) Elevated() (bool, error) { return f() }
