package fix

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/tlsfloor/tlsfloor/audit/live"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/probe"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// liveCheck proves a fix with handshakes: every TLS listener the change
// covers is probed before the change, and again after the reload until
// several consecutive answers show no legacy protocol and nothing that
// worked before (TLS 1.2) broken.
type liveCheck struct {
	prober  platform.Prober
	targets []platform.ProbeRequest
	before  map[string]platform.ProbeResult
	settle  probe.SettleOptions
	log     io.Writer
}

// probeTargets lists the addresses to dial for the listeners of the servers
// a plan touches (wildcards go to loopback), sorted and unique.
func probeTargets(plan *remediate.Plan, timeout time.Duration) []platform.ProbeRequest {
	seen := map[string]bool{}
	var out []platform.ProbeRequest
	for _, s := range plan.Servers {
		for _, l := range s.Listeners {
			addr, ok := live.ProbeAddress(l)
			if !ok || seen[addr] {
				continue
			}
			seen[addr] = true
			out = append(out, platform.ProbeRequest{Address: addr, Timeout: timeout})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

// newLiveCheck takes the "before" answers. A listener that does not answer
// now (the server is not running) cannot be compared later and is left out,
// with a note: verification must never fail because of it.
func newLiveCheck(ctx context.Context, p platform.Prober, targets []platform.ProbeRequest, log io.Writer) *liveCheck {
	c := &liveCheck{prober: p, before: map[string]platform.ProbeResult{}, log: log}
	for _, req := range targets {
		res, err := p.Probe(ctx, req)
		if err != nil || res.Error != "" {
			fmt.Fprintf(log, "note: %s does not answer TLS before the change; it will not be verified live\n", req.Address)
			continue
		}
		c.before[req.Address] = res
		c.targets = append(c.targets, req)
	}
	return c
}

// verify runs after the reload; an error makes the transaction roll back.
func (c *liveCheck) verify(ctx context.Context) error {
	if len(c.targets) == 0 {
		// Say so: "applied" alone would read as "verified".
		fmt.Fprintln(c.log, "note: --verify: no TLS listener of the changed servers answered before the change; the configuration was re-audited, nothing was probed live")
	}
	for _, req := range c.targets {
		res, err := probe.Verify(ctx, c.prober, req, c.before[req.Address], c.settle)
		if err != nil {
			return fmt.Errorf("live verification: %w", err)
		}
		fmt.Fprintf(c.log, "verified %s: accepts %s\n", req.Address, acceptedNames(res))
	}
	return nil
}

func acceptedNames(r platform.ProbeResult) string {
	var s string
	for _, v := range r.Accepted() {
		if s != "" {
			s += " "
		}
		s += v.String()
	}
	if s == "" {
		return "nothing"
	}
	return s
}
