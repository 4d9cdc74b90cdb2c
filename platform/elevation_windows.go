//go:build windows

package platform

import "golang.org/x/sys/windows"

// NewElevation checks the process token's TokenElevation, which is what
// "Run as administrator" changes. A non-elevated administrator under UAC has
// a filtered token and cannot write HKLM.
func NewElevation() Elevation {
	return ElevationFunc(func() (bool, error) {
		return windows.GetCurrentProcessToken().IsElevated(), nil
	})
}
