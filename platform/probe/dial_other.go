//go:build !linux

package probe

import (
	"errors"
	"net"
)

// newLoopbackDialer is the default dialer where the blocking loopback
// connect (dial_linux.go) is not implemented.
func newLoopbackDialer() Dialer { return &net.Dialer{KeepAlive: -1} }

// adoptSocket is never called here: package prestart starts no
// connections outside Linux.
func adoptSocket(int, string) (net.Conn, error) {
	return nil, errors.New("early connections are implemented for Linux only")
}
