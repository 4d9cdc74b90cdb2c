// Command tlsfloor audits and fixes the TLS protocol versions a host allows:
// nginx, Apache, OpenSSL and system policy on Linux; SChannel, .NET, WinHTTP
// and Internet Options on Windows.
package main

import (
	"os"

	// Starts the versions check of `tlsfloor probe ADDRESS` during
	// initialisation, for loopback addresses (see the package doc).
	_ "github.com/tlsfloor/tlsfloor/cmd/probe/early"
	"github.com/tlsfloor/tlsfloor/cmd/root"
)

func main() { os.Exit(root.Main()) }
