//go:build linux

package early

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHellosLeaveDuringInitialisation: in the real binary the hellos
// reach the server while the program is still initialising. The binary
// runs with GODEBUG=inittrace=1, which prints a line per initialised
// package, into a one-page pipe that the test does not read: once the page
// is full the next line blocks the initialisation, well before main, and
// only goroutines already started (the early start's) can still reach the
// server. Without the early start no connection comes until the test
// drains the pipe.
func TestHellosLeaveDuringInitialisation(t *testing.T) {
	const page = 4096
	addr, conns := tlsFake(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, w.Fd(), 1031 /* F_SETPIPE_SZ */, page); errno != 0 {
		t.Skipf("F_SETPIPE_SZ: %v", errno)
	}
	cmd := exec.Command(tlsfloor(t), "probe", addr)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()

	deadline := time.Now().Add(10 * time.Second)
	for conns.Load() < 6 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	early := conns.Load()
	var stderr bytes.Buffer
	_, _ = io.Copy(&stderr, r) // lets the program go on, to its end
	<-done
	if stderr.Len() <= page || !strings.Contains(stderr.String(), "init github.com/spf13/cobra") {
		t.Fatalf("%d bytes of inittrace: the pipe never filled, the test shows nothing\n%s", stderr.Len(), stderr.String())
	}
	if early != 6 {
		t.Errorf("%d connections while initialisation was blocked, want the 6 of the versions check", early)
	}
	if n := conns.Load(); n != 6 {
		t.Errorf("%d connections in all, want 6", n)
	}
}
