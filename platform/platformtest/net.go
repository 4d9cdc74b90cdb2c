package platformtest

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// FreePort asks the kernel for a free TCP port on 127.0.0.1. The port is
// closed again before FreePort returns, for a server under test to take.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Listening reports whether a TCP connection to addr succeeds within a
// second.
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// Eventually polls cond every 50ms until it holds or timeout has passed
// (servers start and reload asynchronously), and reports whether it held;
// cond is tried once more at the deadline.
func Eventually(cond func() bool, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// Start starts cmd, a server running in the foreground, and stops it when
// the test ends: with sig (os.Interrupt, syscall.SIGTERM, as the server
// wants), then with a kill when it has not exited after 10 seconds.
func Start(tb testing.TB, cmd *exec.Cmd, sig os.Signal) {
	tb.Helper()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(sig)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}
