// Package prestart sends the first ClientHellos of `tlsfloor probe` while
// the program is still initialising, and hands each connection to the
// prober when it comes to send the same hello.
//
// Why: a tlsfloor process spends about two milliseconds starting (the Go
// runtime, then the initialisation of every package it links, then the
// command line) before the prober dials, and a loopback server needs
// about as long to answer a versions check (a signature per accepted
// TLS <= 1.2 version). Go initialises a package as soon as its imports
// are, so this package and clienthello, which import only the lowest
// layers of the standard library, are ready about half a millisecond into
// the run; cmd/probe/early calls Start from its init function, and the
// server works on its answers while the rest of the program starts.
//
// The hand-over is keyed by the address and by every byte of the hello
// except the random ones (clienthello.Hello.Key), so the prober only ever
// gets a connection that carries the question it was about to ask;
// anything else it dials itself, and Discard closes what nobody took.
//
// Only loopback addresses are started early, with a blocking connect that
// the kernel completes at once (as the prober's own loopback dialer does);
// a connect or send that fails or takes over 100 ms is abandoned and the
// prober dials as usual.
//
// The state is package-level, unlike anywhere else in tlsfloor, because
// the caller is an init function, which has nowhere else to leave it.
package prestart

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlsfloor/tlsfloor/platform/probe/clienthello"
)

// pending is one connection being opened, or opened, for a hello.
type pending struct {
	address string
	key     string
	done    chan struct{}
	fd      int // -1 when the connect or the send failed
}

var (
	mu      sync.Mutex
	started time.Time
	conns   []*pending
	waiting atomic.Int32 // len(conns), read without the lock
)

// Start opens one connection per hello to address, a literal loopback
// IPv4 address or [::1] with a port, in the form net.JoinHostPort gives,
// and sends each its hello, in the background. It does nothing for other
// addresses or where early connections are not implemented.
func Start(address string, hellos []clienthello.Hello) {
	sa, ok := loopbackSockaddr(address)
	if !ok || len(hellos) == 0 {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if started.IsZero() {
		started = time.Now()
	}
	for _, h := range hellos {
		p := &pending{address: address, key: h.Key(), done: make(chan struct{}), fd: -1}
		conns = append(conns, p)
		msg := h.Marshal()
		go func() {
			defer close(p.done)
			p.fd = connectAndSend(sa, msg)
		}()
	}
	waiting.Store(int32(len(conns)))
}

// Pending reports whether any started connection is still unclaimed; the
// prober asks before it computes a hello's key.
func Pending() bool { return waiting.Load() > 0 }

// Take returns the connected socket that carries hello h to address, once
// its hello is sent, and the time Start was called. The caller owns the
// descriptor. ok is false when no such connection was started or it
// failed; the caller then dials itself.
func Take(address string, h clienthello.Hello) (fd int, since time.Time, ok bool) {
	if !Pending() {
		return -1, time.Time{}, false
	}
	key := h.Key()
	mu.Lock()
	var p *pending
	for i, c := range conns {
		if c.address == address && c.key == key {
			p = c
			conns = append(conns[:i], conns[i+1:]...)
			break
		}
	}
	waiting.Store(int32(len(conns)))
	since = started
	mu.Unlock()
	if p == nil {
		return -1, time.Time{}, false
	}
	<-p.done
	if p.fd < 0 {
		return -1, time.Time{}, false
	}
	return p.fd, since, true
}

// Discard closes every connection nobody took, with a reset, once its
// connect and send are over.
func Discard() {
	mu.Lock()
	left := conns
	conns = nil
	waiting.Store(0)
	mu.Unlock()
	for _, p := range left {
		<-p.done
		if p.fd >= 0 {
			closeFD(p.fd)
		}
	}
}

// ParseLoopback4 parses a dotted quad in 127.0.0.0/8 written without
// leading zeros, the form net.IP.String gives. (It does without package
// strings, whose import would delay this package's initialisation: see
// clienthello's doc comment.)
func ParseLoopback4(s string) (addr [4]byte, ok bool) {
	part := 0
	for i := 0; part < 4; part++ {
		j := i
		for j < len(s) && s[j] != '.' {
			j++
		}
		n, err := strconv.Atoi(s[i:j])
		if err != nil || n < 0 || n > 255 || strconv.Itoa(n) != s[i:j] {
			return addr, false
		}
		addr[part] = byte(n)
		if j == len(s) {
			break
		}
		i = j + 1
	}
	return addr, part == 3 && addr[0] == 127
}
