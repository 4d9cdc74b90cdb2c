//go:build linux

package probe

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func (d *loopbackDialer) netDialer() *net.Dialer { return &d.Dialer }

func TestDefaultDialerLoopback(t *testing.T) {
	for ip, want := range map[string]bool{"127.0.0.1": true, "127.8.9.10": true, "::1": true, "192.0.2.1": false, "2001:db8::1": false} {
		_, got := defaultDialer(net.ParseIP(ip)).(*loopbackDialer)
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
	conn, err := newLoopbackDialer().DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
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
	return addr
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
