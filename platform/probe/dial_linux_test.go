//go:build linux

package probe

import (
	"context"
	"errors"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// keepAliveOption is SO_KEEPALIVE on a connection of the loopback dialer,
// which makes its own sockets and never turns keep-alive on.
func (d loopbackDialer) keepAliveOption(t *testing.T) int {
	on, _ := d.socketOptions(t)
	return on
}

// dialLoopback dials addr with the loopback dialer and returns the
// connection, closed when the test ends, and its raw socket.
func dialLoopback(t *testing.T, addr string) (net.Conn, syscall.RawConn) {
	t.Helper()
	conn, err := newLoopbackDialer().DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	rc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return conn, rc
}

// socketOptions dials a loopback listener with the loopback dialer and
// returns the SO_KEEPALIVE and SO_LINGER settings of the connection.
func (loopbackDialer) socketOptions(t *testing.T) (keepAlive int, linger *unix.Linger) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, rc := dialLoopback(t, ln.Addr().String())
	var kerr, lerr error
	if err := rc.Control(func(fd uintptr) {
		keepAlive, kerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
		linger, lerr = unix.GetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER)
	}); err != nil || kerr != nil || lerr != nil {
		t.Fatal(err, kerr, lerr)
	}
	return keepAlive, linger
}

// The loopback dialer's connections close with a reset from the start
// (SO_LINGER 0), as abort would otherwise set, and report both addresses
// (SMTP's EHLO names the local one).
func TestLoopbackDialerConn(t *testing.T) {
	if _, linger := (loopbackDialer{}).socketOptions(t); linger.Onoff != 1 || linger.Linger != 0 {
		t.Errorf("SO_LINGER = %+v, want on with 0 s", *linger)
	}
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln.Close()
	conn, err := newLoopbackDialer().DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.RemoteAddr().String(); got != ln.Addr().String() {
		t.Errorf("RemoteAddr = %s, want %s", got, ln.Addr())
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if got, want := conn.LocalAddr().String(), peer.RemoteAddr().String(); got != want {
		t.Errorf("LocalAddr = %s, want %s (what the server sees)", got, want)
	}
}

// An address with a service name instead of a port number is left to the
// net package, which resolves it.
func TestLoopbackDialerServiceName(t *testing.T) {
	if _, err := net.LookupPort("tcp", "https"); err != nil {
		t.Skipf("no services database: %v", err)
	}
	// Connected (something listens on 443) or refused: either way the
	// name became a port and the dial reached the kernel.
	c, err := newLoopbackDialer().DialContext(context.Background(), "tcp", "127.0.0.1:https")
	if err == nil {
		c.Close()
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial 127.0.0.1:https: %v, want a connection or ECONNREFUSED", err)
	}
}

// A refused connect reads like net.Dialer's error.
func TestLoopbackDialerRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = newLoopbackDialer().DialContext(context.Background(), "tcp", addr)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: %v, want ECONNREFUSED", err)
	}
	if want := "dial tcp " + addr + ": connect: connection refused"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestDefaultDialerLoopback(t *testing.T) {
	for ip, want := range map[string]bool{"127.0.0.1": true, "127.8.9.10": true, "::1": true, "192.0.2.1": false, "2001:db8::1": false} {
		_, got := defaultDialer(net.ParseIP(ip)).(loopbackDialer)
		if got != want {
			t.Errorf("%s: blocking loopback dialer = %v, want %v", ip, got, want)
		}
	}
}

// The connect is blocking, the connection is not: after the dial the
// socket is non-blocking again, so read deadlines work. A blocking socket
// would ignore the deadline and the read would hang.
func TestLoopbackDialerRestoresNonblocking(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(5 * time.Second) // silent peer
		}
	}()
	conn, rc := dialLoopback(t, ln.Addr().String())
	var flags int
	var ferr error
	if err := rc.Control(func(fd uintptr) { flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		t.Fatal(err, ferr)
	}
	if flags&unix.O_NONBLOCK == 0 {
		t.Errorf("socket flags %#x: O_NONBLOCK not restored after the connect", flags)
	}
	_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	done := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 1))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read from a silent peer: %v, want the deadline", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("read ignored its 50ms deadline")
	}
}

// fullListener returns the address of a loopback listener whose accept
// queue is full, so the kernel drops further SYNs and a connect waits for
// retransmissions (1 s, 3 s, ... about two minutes in all).
func fullListener(t *testing.T) string {
	addr, _ := fullListenerFD(t)
	return addr
}

// fullListenerFD is fullListener that also returns the listening socket.
func fullListenerFD(t *testing.T) (string, int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	// Backlog 0 queues one connection, then the queue is full.
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = filler.Close() })
	return addr, fd
}

// A connect that outlasts the blocking call still completes: when the
// listener drains its queue, the retransmitted SYN (about 1 s after the
// first) is answered and the poller reports the socket connected. Without
// the wait the dial would fail at blockingConnectTimeout.
func TestLoopbackDialerSlowAccept(t *testing.T) {
	addr, fd := fullListenerFD(t)
	accepted := make(chan error, 2)
	time.AfterFunc(300*time.Millisecond, func() {
		for range 2 { // the filler, then the dial under test
			nfd, _, err := unix.Accept(fd)
			if err == nil {
				defer unix.Close(nfd)
			}
			accepted <- err
		}
		time.Sleep(2 * time.Second)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	conn, err := newLoopbackDialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial after %v: %v", time.Since(start), err)
	}
	defer conn.Close()
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("dial ended after %v, before the queue was drained: the test's premise does not hold", d)
	}
	if _, err := conn.Write([]byte("x")); err != nil {
		t.Errorf("write on the connection: %v", err)
	}
}

// A signal that interrupts the blocking connect does not fail the dial:
// connect is called again, which reports EALREADY while the SYN is still
// unanswered, and the poller waits for the rest like after a timeout.
func TestLoopbackDialerInterruptedConnect(t *testing.T) {
	addr, fd := fullListenerFD(t)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1) // so the signal does not end the test binary
	defer signal.Stop(sigs)
	tids := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the connect runs on this thread
		tids <- unix.Gettid()
		c, err := newLoopbackDialer().DialContext(context.Background(), "tcp", addr)
		if c != nil {
			_ = c.Close()
		}
		done <- err
	}()
	tid := <-tids
	time.Sleep(30 * time.Millisecond) // inside the 100 ms blocking connect
	if err := unix.Tgkill(unix.Getpid(), tid, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, func() {
		for range 2 { // the filler, then the dial under test (its SYN is retried after about 1 s)
			if nfd, _, err := unix.Accept(fd); err == nil {
				defer unix.Close(nfd)
			}
		}
		time.Sleep(2 * time.Second)
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("dial interrupted by a signal: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("dial still blocked 5 s after the queue was drained")
	}
	select {
	case <-sigs:
	default:
		t.Error("SIGUSR1 was not delivered; the test's premise does not hold")
	}
}

// A loopback listener that drops the SYN makes the blocking connect wait;
// it gives up after blockingConnectTimeout and the runtime's poller waits
// from then on, so cancelling the context still ends the dial at once. A
// connect blocking without that bound would sit out the SYN retries.
func TestLoopbackDialerQueueFullCancellable(t *testing.T) {
	addr := fullListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		c, err := newLoopbackDialer().DialContext(ctx, "tcp", addr)
		if c != nil {
			_ = c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("dial to a full accept queue succeeded; the test's premise (SYNs dropped) does not hold")
		}
		if d := time.Since(start); d < 250*time.Millisecond {
			t.Errorf("dial ended after %v, before the cancel: %v", d, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("dial still blocked 5s after a cancel at 300ms")
	}
}
