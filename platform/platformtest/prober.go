package platformtest

import (
	"context"
	"fmt"
	"sync"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Prober answers probes from a script keyed by address and records every
// request. A script entry with several results answers them in turn and
// then repeats the last (to model a reload that takes effect gradually).
// Unknown addresses answer like a closed port.
type Prober struct {
	mu       sync.Mutex
	Script   map[string][]platform.ProbeResult
	Requests []platform.ProbeRequest
	served   map[string]int
}

// Accepting returns a result in which exactly the given versions are
// accepted (the others refused with a protocol_version alert).
func Accepting(addr string, versions ...platform.TLSVersion) platform.ProbeResult {
	res := platform.ProbeResult{Address: addr}
	for _, v := range platform.ProbeVersions() {
		vr := platform.VersionResult{Version: v, TLSAnswer: true, Error: "alert protocol_version"}
		for _, a := range versions {
			if a == v {
				vr = platform.VersionResult{Version: v, Accepted: true, TLSAnswer: true, Cipher: "TLS_AES_128_GCM_SHA256"}
			}
		}
		res.Versions = append(res.Versions, vr)
	}
	return res
}

// Probe implements platform.Prober.
func (p *Prober) Probe(_ context.Context, req platform.ProbeRequest) (platform.ProbeResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Requests = append(p.Requests, req)
	seq, ok := p.Script[req.Address]
	if !ok || len(seq) == 0 {
		return platform.ProbeResult{Address: req.Address, Error: fmt.Sprintf("dial tcp %s: connect: connection refused", req.Address)}, nil
	}
	if p.served == nil {
		p.served = map[string]int{}
	}
	i := min(p.served[req.Address], len(seq)-1)
	p.served[req.Address]++
	return seq[i], nil
}
