//go:build linux

package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// blockingConnectTimeout bounds the blocking connect of loopbackDialer.
// On loopback the kernel answers at once (a handshake or a refusal); only
// a listener whose queue is full, or a firewall that drops the SYN, makes
// connect wait, and then the runtime's poller takes over after this long,
// under the caller's context and deadline as usual.
const blockingConnectTimeout = 100 * time.Millisecond

// loopbackDialer connects to loopback addresses with a blocking connect(2)
// on a socket of its own, then hands the socket to the runtime's poller
// through *os.File.
//
// Why blocking: on loopback the kernel completes the TCP handshake inside
// the connect system call, but a non-blocking connect (what net.Dialer
// does) returns EINPROGRESS regardless and the goroutine parks until the
// runtime's poller reports the socket writable. The poller runs when the
// scheduler is idle, that is after every other probe goroutine has dialled
// too, so each server receives its ClientHello later than it could.
// Against the loopback nginx of testdata/bench/probe.sh, `tlsfloor probe`
// took 0.1-0.15 ms less with a blocking connect (4.45 against 4.60 ms and
// 4.58 against 4.69 ms, medians of 300 and 400 alternating runs) and
// `--ciphers` 0.3-0.5 ms less (12.2 against 12.5 ms, 12.6 against 13.0 ms).
//
// Why a socket of its own rather than net.Dialer with a Control hook: the
// net package makes four more system calls per connection around the
// connect (strace of one enumeration: a fcntl, TCP_NODELAY, getsockname
// and getpeername; 11 against 15 per connection counting the connect, the
// hello's write and the close) and goes through a deep call chain that
// grows each prober goroutine's stack. A cipher enumeration opens over forty connections on the same
// two cores as the server; this dialer took `--ciphers` from 10.30 to
// 10.02 ms, and in a second comparison from 11.20 to 10.89 ms (medians of
// 400 alternating runs each). Nothing is lost by it:
//   - the local address is read only when asked for (SMTP's EHLO);
//   - TCP_NODELAY does not matter for a probe, since each of its writes
//     follows the server's answer to the previous one, so nothing is ever
//     unacknowledged when it writes and Nagle's algorithm never delays it;
//   - SO_LINGER 0 is set at once, which abort would otherwise set at close.
//
// Loopback is what audit --live and fix --verify probe. The socket is
// blocking for the connect only: it is non-blocking before it is used, so
// reads and writes keep the poller's deadlines and cancellation.
type loopbackDialer struct{}

func newLoopbackDialer() Dialer { return loopbackDialer{} }

// DialContext implements Dialer for "tcp", "tcp4" and "tcp6". An address
// that is not a literal IP and port goes to net.Dialer.
func (loopbackDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	opErr := func(addr net.Addr, err error) error {
		return &net.OpError{Op: "dial", Net: network, Addr: addr, Err: err}
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, opErr(nil, net.UnknownNetworkError(network))
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Not a literal address and numeric port (a service name, say):
		// the net package resolves it.
		return (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, address)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	remote := net.TCPAddrFromAddrPort(ap)
	if err := ctx.Err(); err != nil {
		return nil, opErr(remote, err)
	}
	family, sa := syscall.AF_INET6, syscall.Sockaddr(&syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	if ap.Addr().Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, opErr(remote, os.NewSyscallError("socket", err))
	}
	tv := syscall.NsecToTimeval(blockingConnectTimeout.Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
		_ = syscall.Close(fd)
		return nil, opErr(remote, os.NewSyscallError("setsockopt", err))
	}
	if err := syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1}); err != nil {
		_ = syscall.Close(fd)
		return nil, opErr(remote, os.NewSyscallError("setsockopt", err))
	}
	for {
		err = syscall.Connect(fd, sa)
		if err != syscall.EINTR {
			break
		}
	}
	// A connect interrupted by a signal goes on in the kernel, and calling
	// it again waits once more: it then reports EISCONN if the connection
	// was made meanwhile, or EALREADY if the wait ran out again. EINPROGRESS
	// (or EAGAIN): SO_SNDTIMEO ran out, the SYN went unanswered. In those
	// cases the poller waits for the rest below.
	if err == syscall.EISCONN {
		err = nil
	}
	pending := err == syscall.EINPROGRESS || err == syscall.EALREADY || err == syscall.EAGAIN
	if err != nil && !pending {
		_ = syscall.Close(fd)
		return nil, opErr(remote, os.NewSyscallError("connect", err))
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, opErr(remote, os.NewSyscallError("fcntl", err))
	}
	c := &socketConn{File: os.NewFile(uintptr(fd), "tcp "+address), remote: remote}
	if pending {
		if err := c.finishConnect(ctx); err != nil {
			_ = c.Close()
			return nil, opErr(remote, err)
		}
	}
	return c, nil
}

// finishConnect waits, through the poller, for a connect that the blocking
// call left in progress, until ctx ends.
func (c *socketConn) finishConnect(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetWriteDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var connErr error
	werr := rc.Write(func(fd uintptr) bool {
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		switch {
		case err != nil:
			connErr = os.NewSyscallError("getsockopt", err)
		case n == 0:
			if _, err := syscall.Getpeername(int(fd)); err != nil {
				return false // writable but not yet connected: wait again
			}
		case syscall.Errno(n) == syscall.EINPROGRESS || syscall.Errno(n) == syscall.EALREADY || syscall.Errno(n) == syscall.EINTR:
			return false
		default:
			connErr = os.NewSyscallError("connect", syscall.Errno(n))
		}
		return true
	})
	if werr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(werr, os.ErrDeadlineExceeded) {
			return os.ErrDeadlineExceeded
		}
		return werr
	}
	if connErr != nil {
		return connErr
	}
	return c.SetWriteDeadline(time.Time{})
}

// socketConn is a connected TCP socket driven by the runtime's poller
// through *os.File, which gives it Read, Write, Close, deadlines and
// SyscallConn.
type socketConn struct {
	*os.File
	remote *net.TCPAddr
}

var _ net.Conn = (*socketConn)(nil)

// LocalAddr reads the socket's address when asked (SMTP's EHLO is the
// only user), or nil if it cannot.
func (c *socketConn) LocalAddr() net.Addr {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var sa syscall.Sockaddr
	if cerr := rc.Control(func(fd uintptr) { sa, err = syscall.Getsockname(int(fd)) }); cerr != nil || err != nil {
		return nil
	}
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)))
	case *syscall.SockaddrInet6:
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)))
	}
	return nil
}

// RemoteAddr is the address dialled.
func (c *socketConn) RemoteAddr() net.Addr { return c.remote }

// adoptSocket wraps a connected blocking socket (one of package
// prestart's) for the poller, as DialContext wraps its own.
func adoptSocket(fd int, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	remote := net.TCPAddrFromAddrPort(netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return &socketConn{File: os.NewFile(uintptr(fd), "tcp "+address), remote: remote}, nil
}
