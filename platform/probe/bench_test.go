package probe

import (
	"context"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Benchmarks against the nginx legacy fixture (TLS 1.0-1.3, 35 accepted
// suite/version pairs). testdata/bench/probe.sh compares the same work with
// nmap, sslscan and testssl.sh side by side.
func benchProbe(b *testing.B, ciphers bool) {
	s := startNginx(b)
	p := New(Options{})
	req := platform.ProbeRequest{Address: s.legacy, Timeout: 5 * time.Second, Ciphers: ciphers}
	b.ResetTimer()
	for b.Loop() {
		res, err := p.Probe(context.Background(), req)
		if err != nil || res.Error != "" || len(res.Accepted()) != 4 {
			b.Fatalf("%v %s %v", err, res.Error, res.Accepted())
		}
	}
}

func BenchmarkProbeVersions(b *testing.B) { benchProbe(b, false) }
func BenchmarkProbeCiphers(b *testing.B)  { benchProbe(b, true) }
