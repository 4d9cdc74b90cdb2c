//go:build linux

package probe

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// BenchmarkHandshakeCost measures what one probe handshake costs the
// server and the client, by the kind of answer, against the nginx legacy
// fixture (2 workers, RSA-2048 certificate, ffdhe2048): the server's CPU
// comes from its workers' /proc/PID/schedstat, ours from getrusage. These
// figures bound testdata/bench/probe.sh: a full enumeration needs one
// handshake per accepted suite and version, and each ECDHE or DHE one
// costs the server a signature whoever the client is.
//
// "refusal-raw-syscalls" is the floor for the client side: the same
// refused hello over blocking system calls on one thread, without Go's
// net package and poller.
//
//	go test ./platform/probe -run XXX -bench HandshakeCost -benchtime 500x
func BenchmarkHandshakeCost(b *testing.B) {
	s := startNginx(b)
	workers := nginxWorkers(b, s.master.Pid)
	tg := &target{addr: s.legacy, timeout: 5 * time.Second, sem: make(chan struct{}, 1), dialer: defaultDialer(net.IPv4(127, 0, 0, 1))}
	kinds := []struct {
		name   string
		h      hello
		accept bool
	}{
		{"refusal", hello{version: platform.VersionTLS12, suites: []uint16{0xC02B}}, false}, // ECDSA suite, RSA server
		{"tls13-hello-retry", hello{version: platform.VersionTLS13, suites: []uint16{0x1301}}, true},
		{"tls12-rsa-key-exchange", hello{version: platform.VersionTLS12, suites: []uint16{0x002F}}, true},
		{"tls12-ecdhe", hello{version: platform.VersionTLS12, suites: []uint16{0xC013}}, true},
		{"tls10-ecdhe", hello{version: platform.VersionTLS10, suites: []uint16{0xC013}}, true},
		{"tls12-dhe", hello{version: platform.VersionTLS12, suites: []uint16{0x0033}}, true},
		{"tls12-dhe-alpn-check", hello{version: platform.VersionTLS12, suites: []uint16{0x0033}, alpnCheck: true}, false},
		{"tls12-ecdhe-alpn-check", hello{version: platform.VersionTLS12, suites: []uint16{0xC013}, alpnCheck: true}, false},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			if o := tg.handshake(context.Background(), k.h, false); o.accepted != k.accept {
				b.Fatalf("accepted = %v, want %v (%v)", o.accepted, k.accept, o.err)
			}
			measureCost(b, workers, func() { tg.handshake(context.Background(), k.h, false) })
		})
	}
	b.Run("refusal-raw-syscalls", func(b *testing.B) {
		port, _ := strconv.Atoi(s.legacy[strings.LastIndex(s.legacy, ":")+1:])
		msg := kinds[0].h.marshal()
		if n, err := rawHandshake(port, msg); err != nil || n == 0 {
			b.Fatalf("raw handshake: %d bytes, %v", n, err)
		}
		measureCost(b, workers, func() { _, _ = rawHandshake(port, msg) })
	})
}

func measureCost(b *testing.B, workers []int, op func()) {
	s0, c0 := serverCPU(b, workers), selfCPU()
	b.ResetTimer()
	for b.Loop() {
		op()
	}
	b.StopTimer()
	s1, c1 := serverCPU(b, workers), selfCPU()
	b.ReportMetric(float64(s1-s0)/float64(b.N)/1e3, "server-us/op")
	b.ReportMetric(float64(c1-c0)/float64(b.N)/1e3, "client-us/op")
}

// rawHandshake sends msg to 127.0.0.1:port and reads the first answer
// with blocking system calls, then resets the connection.
func rawHandshake(port int, msg []byte) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer func() { _ = syscall.Close(fd) }()
	if err := syscall.Connect(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return 0, err
	}
	if _, err := syscall.Write(fd, msg); err != nil {
		return 0, err
	}
	var buf [8192]byte
	n, err := syscall.Read(fd, buf[:])
	_ = syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1})
	return n, err
}

// nginxWorkers lists the master's child processes.
func nginxWorkers(b *testing.B, master int) []int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(master) + "/task/" + strconv.Itoa(master) + "/children")
		if err != nil {
			b.Skipf("no /proc children list: %v", err)
		}
		var pids []int
		for _, f := range strings.Fields(string(raw)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		if len(pids) >= 2 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serverCPU sums the workers' time on CPU in nanoseconds.
func serverCPU(b *testing.B, pids []int) int64 {
	var total int64
	for _, pid := range pids {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
		if err != nil {
			b.Fatalf("worker %d: %v", pid, err)
		}
		ns, err := strconv.ParseInt(strings.Fields(string(raw))[0], 10, 64)
		if err != nil {
			b.Fatalf("worker %d schedstat %q: %v", pid, raw, err)
		}
		total += ns
	}
	return total
}

// selfCPU is this process's user and system time in nanoseconds.
func selfCPU() int64 {
	var r syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return r.Utime.Nano() + r.Stime.Nano()
}
