// Command probeonly runs the versions check of `tlsfloor probe ADDR` (or,
// with --ciphers, the full enumeration) through platform/probe alone,
// without the command tree, and prints the accepted versions.
// testdata/bench/probe.sh times it next to the real command to separate
// the handshakes from the CLI around them.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/probe"
)

func main() {
	args := os.Args[1:]
	ciphers := len(args) == 2 && args[0] == "--ciphers"
	if ciphers {
		args = args[1:]
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: probeonly [--ciphers] HOST:PORT")
		os.Exit(2)
	}
	res, err := probe.New(probe.Options{}).Probe(context.Background(), platform.ProbeRequest{
		Address: args[0], Timeout: probe.DefaultTimeout, Certificate: true, Ciphers: ciphers,
	})
	if err != nil || res.Error != "" {
		fmt.Fprintln(os.Stderr, "probeonly:", err, res.Error)
		os.Exit(1)
	}
	fmt.Println(res.Accepted(), len(res.Ciphers), "suites", res.Elapsed.Round(time.Microsecond))
}
