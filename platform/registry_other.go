//go:build !windows

package platform

// NewRegistry reports that there is no registry outside Windows.
func NewRegistry() (Registry, error) { return nil, ErrUnsupportedPlatform }
