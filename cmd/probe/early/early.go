// Package early starts `tlsfloor probe`'s versions check during program
// initialisation. cmd/tlsfloor imports it for its init function alone.
//
// A tlsfloor process needs about two milliseconds to start before the
// probe command dials, about as long as a loopback server takes to answer
// the six hellos of a versions check. This package imports little more
// than package prestart and clienthello, so Go initialises it a few
// hundred microseconds into the run (Go initialises every package as soon
// as its imports are); its init function reads the command line, and when
// it is a plain versions check of one loopback address it has prestart
// send the hellos. The server answers while the rest of the program
// starts; the prober then takes the connections over (see prestart).
//
// Only command lines that the probe command would certainly run with those
// very hellos qualify: `probe`, one loopback IP target (127.0.0.0/8 or
// ::1, port 443 or given, not a STARTTLS port), and at most --ciphers and
// --format text|json. Anything else, including every other flag, is left
// to the command alone. TestAgreesWithTheProbeCommand checks each accepted
// form against the probe command's own parsing.
package early

import (
	"os"
	"strconv"

	"github.com/tlsfloor/tlsfloor/platform/probe/clienthello"
	"github.com/tlsfloor/tlsfloor/platform/probe/prestart"
)

func init() {
	if address, ok := Plan(os.Args[1:]); ok {
		prestart.Start(address, Hellos())
	}
}

// Hellos are the first hellos of the versions check of a target without
// SNI, the TLS <= 1.2 versions first: those the server has to sign.
func Hellos() []clienthello.Hello {
	var hs []clienthello.Hello
	for _, v := range []uint16{clienthello.TLS12, clienthello.TLS11, clienthello.TLS10, clienthello.TLS13, clienthello.SSL30, clienthello.SSL20} {
		hs = append(hs, clienthello.VersionCheck(v, ""))
	}
	return hs
}

// Plan reads a command line (without the program name) and returns the
// address, as the prober writes it, whose versions check can start now.
func Plan(args []string) (address string, ok bool) {
	if len(args) < 2 || args[0] != "probe" {
		return "", false
	}
	target := ""
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--ciphers", a == "--format=text", a == "--format=json":
		case a == "--format" && i+1 < len(args) && (args[i+1] == "text" || args[i+1] == "json"):
			i++
		case a == "" || a[0] == '-' || target != "":
			return "", false
		default:
			target = a
		}
	}
	return loopbackAddress(target)
}

// startTLSPorts imply STARTTLS (platform/probe.StartTLSForPort): a hello
// sent there before the upgrade would be a protocol error.
var startTLSPorts = [...]string{"21", "25", "110", "143", "587"}

// loopbackAddress accepts a target naming a loopback address, in the
// forms the probe command accepts (127.a.b.c[:port], [::1][:port], ::1),
// written in canonical form only, and returns it as host:port.
func loopbackAddress(target string) (string, bool) {
	host, port := target, "443"
	switch {
	case target == "::1", target == "[::1]":
		return "[::1]:443", true
	case len(target) > len("[::1]:") && target[:len("[::1]:")] == "[::1]:":
		host, port = "[::1]", target[len("[::1]:"):]
	default:
		for i := 0; i < len(target); i++ {
			if target[i] == ':' {
				host, port = target[:i], target[i+1:]
				break
			}
		}
		if _, ok := prestart.ParseLoopback4(host); !ok {
			return "", false
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", false
	}
	for _, p := range startTLSPorts {
		if port == p {
			return "", false
		}
	}
	return host + ":" + port, true
}
