// Command imports links every tlsfloor package and does nothing: started
// by testdata/bench/probe.sh, it measures what package initialisation adds
// to an empty Go program.
package main

import _ "github.com/tlsfloor/tlsfloor/cmd/root"

func main() {}
