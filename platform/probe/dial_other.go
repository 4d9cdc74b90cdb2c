//go:build !linux

package probe

import "net"

// newLoopbackDialer is the default dialer where the blocking loopback
// connect (dial_linux.go) is not implemented.
func newLoopbackDialer() Dialer { return &net.Dialer{KeepAlive: -1} }
