//go:build !linux

package platform

import "os"

// copyXattrs copies nothing outside Linux: tlsfloor rewrites config files
// on Linux only (on Windows it edits the registry).
func copyXattrs(string, *os.File) error { return nil }
