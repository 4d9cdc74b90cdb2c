// Command probeonly runs the versions check of `tlsfloor probe ADDR`
// through platform/probe alone, without the command tree, and prints the
// accepted versions. testdata/bench/probe.sh times it next to the real
// command to separate the handshakes from the CLI around them.
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
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: probeonly HOST:PORT")
		os.Exit(2)
	}
	res, err := probe.New(probe.Options{}).Probe(context.Background(), platform.ProbeRequest{
		Address: os.Args[1], Timeout: probe.DefaultTimeout, Certificate: true,
	})
	if err != nil || res.Error != "" {
		fmt.Fprintln(os.Stderr, "probeonly:", err, res.Error)
		os.Exit(1)
	}
	fmt.Println(res.Accepted(), res.Elapsed.Round(time.Microsecond))
}
