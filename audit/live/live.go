// Package live is the `audit --live` scanner: for every TLS listener the
// nginx and Apache analyses define on this host it performs real
// handshakes through a platform.Prober and compares what the configuration
// says with what the server accepts. A difference is live-differs; a
// listener that accepts SSLv2/SSLv3/TLS 1.0/TLS 1.1 is live-legacy-accepted.
// Wildcard listeners ("*:443", "[::]:443") are probed on 127.0.0.1 / ::1.
//
// It must not import cmd/ or remediate/; the prober is injected so tests use
// platformtest.Prober.
package live

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/platform"
)

// Listener is one TLS address a server's configuration defines.
type Listener struct {
	Component audit.ComponentKind // nginx or apache
	Module    string              // nginx: http, stream or mail
	// Address is as the analysis normalised it: "*:443", "[::]:443",
	// "127.0.0.1:8443".
	Address string
	// Configured is the set the configuration gives clients without SNI
	// (the default server or base vhost), which is what the probe sees.
	Configured audit.ProtocolSet
	// Location is the default server / base vhost.
	Location audit.Location
}

// Source lists the listeners of one kind of server.
type Source func(ctx context.Context, env *audit.Env) ([]Listener, error)

// NginxListeners lists nginx's TLS listeners from nginx.Analyze.
func NginxListeners(ctx context.Context, env *audit.Env) ([]Listener, error) {
	a, err := nginx.Analyze(ctx, env)
	if err != nil || a == nil || !a.Found {
		return nil, err
	}
	var out []Listener
	for _, l := range a.Listeners {
		out = append(out, Listener{Component: audit.KindNginx, Module: l.Module, Address: l.Address,
			Configured: l.Effective, Location: l.DefaultServer})
	}
	return out, nil
}

// ApacheListeners lists Apache's TLS listeners from apache.Analyze.
func ApacheListeners(ctx context.Context, env *audit.Env) ([]Listener, error) {
	a, err := apache.Analyze(ctx, env)
	if err != nil || a == nil || !a.Found {
		return nil, err
	}
	var out []Listener
	for _, l := range a.Listeners {
		out = append(out, Listener{Component: audit.KindApache, Address: l.Address,
			Configured: l.Effective, Location: audit.Location{File: l.BaseFile, Line: l.BaseLine}})
	}
	return out, nil
}

// Scanner probes listeners. Build it with New.
type Scanner struct {
	prober  platform.Prober
	sources []Source
	timeout time.Duration
}

// New returns the live scanner. The sources are asked in order; nginx's and
// Apache's analyses are re-run for this (the config is read twice), which
// keeps the scanners independent of each other.
func New(p platform.Prober, sources ...Source) *Scanner {
	return &Scanner{prober: p, sources: sources, timeout: 3 * time.Second}
}

// Name implements audit.Scanner.
func (*Scanner) Name() string { return "live" }

// ProbeAddress maps a configured listen address to the address to dial:
// wildcards go to loopback of the same family. ok is false for addresses
// that cannot be probed (no port, a UNIX socket).
func ProbeAddress(addr string) (string, bool) {
	if strings.HasPrefix(addr, "unix:") {
		return "", false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if !strings.Contains(addr, ":") { // a bare port
			host, port = "*", addr
		} else {
			return "", false
		}
	}
	if port == "" || port == "*" {
		return "", false
	}
	switch strings.ToLower(host) {
	case "*", "", "0.0.0.0", "_default_":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	case "localhost":
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), true
}

// startTLSFor: nginx mail listeners on the submission and mail ports speak
// STARTTLS; everything else is implicit TLS.
func startTLSFor(l Listener, port string) string {
	if l.Module != "mail" {
		return ""
	}
	switch port {
	case "25", "587":
		return "smtp"
	case "143":
		return "imap"
	case "110":
		return "pop3"
	}
	return ""
}

// Scan implements audit.Scanner.
func (s *Scanner) Scan(ctx context.Context, env *audit.Env) (audit.Result, error) {
	comp := audit.Component{Kind: audit.KindLive, Path: "", Version: "", Status: audit.StatusOK}
	if env.Options.Rooted() {
		comp.Status = audit.StatusNotFound
		comp.Notes = []string{"--root points at another tree: its servers are not running here, so nothing was probed"}
		return audit.Result{Components: []audit.Component{comp}}, nil
	}
	var ls []Listener
	for _, src := range s.sources {
		got, err := src(ctx, env)
		if err != nil {
			return audit.Result{}, fmt.Errorf("live: %w", err)
		}
		ls = append(ls, got...)
	}
	if len(ls) == 0 {
		comp.Status = audit.StatusNotFound
		comp.Notes = []string{"no TLS listener in the nginx or Apache configuration"}
		return audit.Result{Components: []audit.Component{comp}}, nil
	}
	type job struct {
		l     Listener
		addr  string
		ok    bool
		res   platform.ProbeResult
		err   error
		start string
	}
	jobs := make([]job, len(ls))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, l := range ls {
		jobs[i].l = l
		addr, ok := ProbeAddress(l.Address)
		jobs[i].addr, jobs[i].ok = addr, ok
		if !ok {
			continue
		}
		_, port, _ := net.SplitHostPort(addr)
		jobs[i].start = startTLSFor(l, port)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			jobs[i].res, jobs[i].err = s.prober.Probe(ctx, platform.ProbeRequest{
				Address: addr, StartTLS: jobs[i].start, Timeout: s.timeout,
			})
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return audit.Result{}, err
	}
	var res audit.Result
	for _, j := range jobs {
		f, ctxt := judge(j.l, j.addr, j.ok, j.res, j.err)
		comp.Contexts = append(comp.Contexts, ctxt)
		res.Findings = append(res.Findings, f...)
	}
	res.Components = []audit.Component{comp}
	return res, nil
}

// observed turns the accepted wire versions into a protocol set.
func observed(r platform.ProbeResult) audit.ProtocolSet {
	var set audit.ProtocolSet
	for _, v := range r.Accepted() {
		if p, ok := audit.ParseProtocol(v.String()); ok {
			set = set.With(p)
		}
	}
	return set
}

// judge compares one listener's configuration with its probe.
func judge(l Listener, addr string, ok bool, r platform.ProbeResult, err error) ([]audit.Finding, audit.Context) {
	name := fmt.Sprintf("%s %s", l.Component, l.Address)
	if l.Module != "" {
		name = fmt.Sprintf("%s %s %s", l.Component, l.Module, l.Address)
	}
	ctxt := audit.Context{File: l.Location.File, Line: l.Location.Line, Kind: "listener", Name: name,
		Listen: []string{l.Address}}
	unknown := func(why string) ([]audit.Finding, audit.Context) {
		ctxt.Note = why
		f := audit.NewFinding(audit.RuleComponentUnknown, audit.KindLive, l.Location, l.Configured,
			fmt.Sprintf("%s: %s", name, why))
		return []audit.Finding{f}, ctxt
	}
	switch {
	case !ok:
		return unknown("cannot be probed (no port or not a TCP address)")
	case err != nil:
		return unknown(fmt.Sprintf("probe %s: %v", addr, err))
	case r.Error != "":
		return unknown(fmt.Sprintf("probe %s: %s (is the server running?)", addr, r.Error))
	}
	obs := observed(r)
	ctxt.Protocols = obs
	ctxt.Note = fmt.Sprintf("probed %s: configured %s, observed %s", addr, l.Configured, obs)
	var fs []audit.Finding
	if legacy := obs.Intersect(audit.Legacy); !legacy.Empty() {
		fs = append(fs, audit.NewFinding(audit.RuleLiveLegacyAccepted, audit.KindLive, l.Location, legacy,
			fmt.Sprintf("%s (probed %s) accepts %s", name, addr, legacy)))
	}
	if obs != l.Configured {
		diff := obs.Minus(l.Configured).Union(l.Configured.Minus(obs))
		msg := fmt.Sprintf("%s (probed %s): configured %s, observed %s", name, addr, l.Configured, obs)
		if extra := obs.Minus(l.Configured); !extra.Empty() {
			msg += fmt.Sprintf("; accepts %s though not configured (another process, a proxy, or not reloaded?)", extra)
		}
		if missing := l.Configured.Minus(obs); !missing.Empty() {
			msg += fmt.Sprintf("; refuses configured %s (the TLS library's security level, or not reloaded?)", missing)
		}
		fs = append(fs, audit.NewFinding(audit.RuleLiveDiffers, audit.KindLive, l.Location, diff, msg))
	}
	return fs, ctxt
}
