// Command record runs `tlsfloor probe --ciphers ADDR` through platform/probe
// with a dialer that writes down each connection's ClientHello and how many
// connections had ended when it was opened, one line per connection:
//
//	ENDED HEX
//
// ../replay.c sends the same hellos on the same schedule from a single-threaded
// C client. testdata/bench/probe.sh times that replay next to tlsfloor: it is
// the floor of any client that makes these handshakes in this order, since
// the server's work is the same and the client's is next to nothing.
package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/probe"
)

// recorder counts ended connections and notes each connection's first
// write with the count at the time it was dialled.
type recorder struct {
	mu    sync.Mutex
	ended int
	lines []string
}

type recordedConn struct {
	net.Conn
	r       *recorder
	ended   int // connections ended before this one was dialled
	written bool
	closed  bool
}

func (r *recorder) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := (&net.Dialer{KeepAlive: -1}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return &recordedConn{Conn: c, r: r, ended: r.ended}, nil
}

func (c *recordedConn) Write(b []byte) (int, error) {
	c.r.mu.Lock()
	if !c.written {
		c.written = true
		c.r.lines = append(c.r.lines, fmt.Sprintf("%d %s", c.ended, hex.EncodeToString(b)))
	}
	c.r.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *recordedConn) Close() error {
	c.r.mu.Lock()
	if !c.closed {
		c.closed = true
		c.r.ended++
	}
	c.r.mu.Unlock()
	return c.Conn.Close()
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: record HOST:PORT >schedule")
		os.Exit(2)
	}
	rec := &recorder{}
	res, err := probe.New(probe.Options{Dialer: rec}).Probe(context.Background(), platform.ProbeRequest{
		Address: os.Args[1], Timeout: 5 * time.Second, Certificate: true, Ciphers: true,
	})
	if err != nil || res.Error != "" {
		fmt.Fprintln(os.Stderr, "record:", err, res.Error)
		os.Exit(1)
	}
	for _, l := range rec.lines {
		fmt.Println(l)
	}
	fmt.Fprintf(os.Stderr, "record: %d connections, %d suite/version pairs\n", len(rec.lines), len(res.Ciphers))
}
