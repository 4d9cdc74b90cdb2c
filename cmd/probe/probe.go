// Package probe implements `tlsfloor probe TARGET...`: live handshakes that
// show which protocol versions and cipher suites a server really accepts,
// judged against the TLS 1.2+ policy. The handshakes themselves are
// platform/probe's; this package parses targets and flags, runs several
// targets with a concurrency limit and renders text or JSON.
package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tlsfloor/tlsfloor/audit"
	auditCmd "github.com/tlsfloor/tlsfloor/cmd/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	tlsprobe "github.com/tlsfloor/tlsfloor/platform/probe"
	"github.com/tlsfloor/tlsfloor/platform/probe/prestart"
)

// Options are the parsed flags and injected dependencies of probe.
type Options struct {
	Factory *cmdutil.Factory
	// Prober defaults to Factory.Prober().
	Prober      platform.Prober
	Targets     []Target
	StartTLS    string
	SNI         string
	Timeout     time.Duration
	Ciphers     bool
	Format      cmdutil.Format
	Concurrency int
	MinVersion  audit.Protocol
	// Resolve looks up a target's host name (default: the system
	// resolver). Every address it returns is probed: a dual-stack host can
	// serve IPv4 and IPv6 from different server blocks.
	Resolve func(ctx context.Context, host string) ([]net.IP, error)

	formatFlag, minFlag string
	// targetsFile is --targets-file: one TARGET per line, "-" for stdin.
	targetsFile string
}

// Target is one parsed TARGET argument.
type Target struct {
	Arg        string // as typed
	Host, Port string
	StartTLS   string // from --starttls or implied by the port
	ServerName string // SNI: --sni, else the host if it is a name
	IP         string // one address of a host name, set by Run
}

// Address is host:port for dialling: the resolved IP when Run has set
// one, else the host as typed.
func (t Target) Address() string {
	if t.IP != "" {
		return net.JoinHostPort(t.IP, t.Port)
	}
	return net.JoinHostPort(t.Host, t.Port)
}

// ParseTarget reads host[:port]: an IPv4 address, an IPv6 address in
// brackets (a bare IPv6 address without port is accepted too), or a name.
// The port defaults to 443.
func ParseTarget(s string) (Target, error) {
	t := Target{Arg: s, Port: "443"}
	switch {
	case s == "":
		return t, fmt.Errorf("empty target")
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return t, fmt.Errorf("target %q: missing ]", s)
		}
		t.Host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return t, fmt.Errorf("target %q: want [address]:port", s)
			}
			t.Port = rest[1:]
		}
		if net.ParseIP(t.Host) == nil {
			return t, fmt.Errorf("target %q: %q is not an IP address", s, t.Host)
		}
	case strings.Count(s, ":") > 1:
		if net.ParseIP(s) == nil {
			return t, fmt.Errorf("target %q: an IPv6 address with a port needs brackets: [addr]:port", s)
		}
		t.Host = s
	default:
		host, port, found := strings.Cut(s, ":")
		t.Host = host
		if found {
			t.Port = port
		}
	}
	if n, err := strconv.Atoi(t.Port); err != nil || n < 1 || n > 65535 {
		return t, fmt.Errorf("target %q: invalid port %q", s, t.Port)
	}
	if t.Host == "" {
		return t, fmt.Errorf("target %q: missing host", s)
	}
	if net.ParseIP(t.Host) == nil && !validName(t.Host) {
		return t, fmt.Errorf("target %q: %q is neither an IP address nor a host name", s, t.Host)
	}
	return t, nil
}

func validName(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// NewCmdProbe builds `tlsfloor probe`. runF replaces the run function in tests.
func NewCmdProbe(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	var starttls string
	cmd := &cobra.Command{
		Use:   "probe TARGET... | --targets-file FILE",
		Short: "Show which TLS versions and cipher suites a live server accepts",
		Long: `Probe connects to each TARGET (host[:port]; IPv6 as [addr]:port; port 443 by
default) and sends its own ClientHellos for SSLv2, SSLv3 and TLS 1.0 to 1.3,
so the answer does not depend on the local OpenSSL. It reports, per version,
accepted or refused and the suite the server picks; with --ciphers every
accepted suite, graded strong, weak or insecure, and whether the server
imposes its order.

Ports 25 and 587 imply SMTP STARTTLS, 143 IMAP and 110 POP3 STARTTLS, 21 FTP
AUTH TLS; 465, 993 and 995 are implicit TLS. --starttls overrides. A host
name is probed on every address it resolves to (IPv4 first), each with the
name as SNI: a dual-stack server can answer differently on IPv6. An IP
target gets no SNI unless --sni names the virtual host.

Exit status: 0 every target meets the policy (no SSLv2/SSLv3/TLS 1.0/1.1,
TLS 1.2 or 1.3 accepted; with --min-version 1.3 only TLS 1.3), 3 a target
does not, 2 a target could not be reached or does not speak TLS (this wins
over 3: the answer is incomplete).`,
		Example: `  # Which versions does this server accept?
  tlsfloor probe example.com

  # A mail server, every cipher suite, as JSON
  tlsfloor probe --ciphers --format json mail.example.com:25

  # A virtual host behind an IP address
  tlsfloor probe --sni www.example.com 192.0.2.10:443

  # A list of hosts, one per line (# comments), eight at a time
  tlsfloor probe --targets-file hosts.txt --concurrency 8 --format json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && opts.targetsFile == "" {
				return cmdutil.FlagErrorf("probe needs a TARGET or --targets-file")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Format, err = cmdutil.ParseFormat(opts.formatFlag); err != nil {
				return err
			}
			if opts.MinVersion, err = auditCmd.ParseMinVersion(opts.minFlag); err != nil {
				return err
			}
			if !tlsprobe.ValidStartTLS(starttls) {
				return cmdutil.FlagErrorf("invalid --starttls %q: want smtp, imap, pop3 or ftp", starttls)
			}
			opts.StartTLS = starttls
			if opts.SNI != "" && (net.ParseIP(strings.Trim(opts.SNI, "[]")) != nil || !validName(opts.SNI)) {
				return cmdutil.FlagErrorf("invalid --sni %q: want a DNS name (RFC 6066 forbids IP addresses)", opts.SNI)
			}
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("invalid --timeout %s: must be positive", opts.Timeout)
			}
			if opts.Concurrency < 1 {
				return cmdutil.FlagErrorf("invalid --concurrency %d: must be at least 1", opts.Concurrency)
			}
			opts.Targets = nil
			type arg struct {
				text, where string // where: "FILE:LINE: " for a line of --targets-file
			}
			var all []arg
			for _, a := range args {
				all = append(all, arg{text: a})
			}
			if opts.targetsFile != "" {
				lines, err := readTargetsFile(opts.targetsFile, f.IO.In)
				if err != nil {
					return cmdutil.Exit(cmdutil.ExitUsage, err)
				}
				for _, l := range lines {
					all = append(all, arg{text: l.text, where: fmt.Sprintf("%s:%d: ", l.file, l.line)})
				}
				if len(all) == 0 {
					return cmdutil.Exit(cmdutil.ExitUsage, fmt.Errorf("%s: no targets", opts.targetsFile))
				}
			}
			for _, a := range all {
				t, err := ParseTarget(a.text)
				if err != nil && a.where != "" {
					return cmdutil.Exit(cmdutil.ExitUsage, fmt.Errorf("%s%v", a.where, err))
				}
				if err != nil {
					return cmdutil.FlagErrorf("%v", err)
				}
				t.StartTLS = opts.StartTLS
				if t.StartTLS == "" {
					t.StartTLS = tlsprobe.StartTLSForPort(t.Port)
				}
				t.ServerName = opts.SNI
				if t.ServerName == "" && net.ParseIP(t.Host) == nil {
					t.ServerName = strings.TrimSuffix(t.Host, ".")
				}
				opts.Targets = append(opts.Targets, t)
			}
			if opts.Ciphers || len(opts.Targets) > 1 {
				oneProcessor()
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&starttls, "starttls", "", "upgrade with `PROTO` first: smtp, imap, pop3 or ftp (default: from the port)")
	fl.StringVar(&opts.SNI, "sni", "", "send `NAME` as server_name (default: the target's host name; none for an IP)")
	fl.DurationVar(&opts.Timeout, "timeout", tlsprobe.DefaultTimeout, "bound each connection by `DURATION`")
	fl.BoolVar(&opts.Ciphers, "ciphers", false, "list every accepted cipher suite per version, graded")
	fl.StringVar(&opts.formatFlag, "format", "text", "output `FORMAT`: text or json")
	fl.IntVar(&opts.Concurrency, "concurrency", 4, "probe at most `N` targets at once")
	fl.StringVar(&opts.targetsFile, "targets-file", "", "read more targets from `FILE`, one per line (# comments; - for stdin)")
	fl.StringVar(&opts.minFlag, "min-version", "1.2", "oldest allowed TLS `VERSION`: 1.2 or 1.3")
	_ = cmd.RegisterFlagCompletionFunc("starttls", cobra.FixedCompletions([]string{"smtp", "imap", "pop3", "ftp"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("min-version", cobra.FixedCompletions([]string{"1.2", "1.3"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// targetLine is one target read from --targets-file.
type targetLine struct {
	file string
	line int
	text string
}

// readTargetsFile reads one target per line; blank lines and "#" comments
// (whole-line or after white space) are skipped. "-" reads stdin.
func readTargetsFile(path string, stdin io.Reader) ([]targetLine, error) {
	var data []byte
	var err error
	name := path
	if path == "-" {
		name = "<stdin>"
		if stdin == nil {
			return nil, errors.New("--targets-file -: no standard input")
		}
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--targets-file: %w", err)
	}
	var out []targetLine
	for i, l := range strings.Split(string(data), "\n") {
		if j := strings.Index(l, "#"); j == 0 || j > 0 && (l[j-1] == ' ' || l[j-1] == '\t') {
			l = l[:j]
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.ContainsAny(l, " \t") {
			return nil, fmt.Errorf("%s:%d: one target per line, got %q", name, i+1, l)
		}
		out = append(out, targetLine{file: name, line: i + 1, text: l})
	}
	return out, nil
}

// Outcome is one target's result with its verdict.
type Outcome struct {
	Target    Target
	Result    platform.ProbeResult
	Compliant bool
	Reason    string // why not compliant, or why it could not be probed
	Reachable bool   // answered in TLS
}

// oneProcessor runs the probe's goroutines on one OS thread at a time
// (GOMAXPROCS 1) unless the GOMAXPROCS environment variable says
// otherwise. The probe command calls it when it will open many
// connections: for a cipher enumeration (40 or more per target) or for
// several targets.
//
// Why: a probe spends its time waiting for sockets, and its CPU work (a
// hello to build, an answer to parse) is microseconds per connection, so
// one thread keeps up with any number of targets. A second one only adds
// cross-thread wake-ups and idle threads spinning for work, and on a small
// host those compete with the server being probed: with a loopback nginx
// on 2 cores, `tlsfloor probe --ciphers` took 10.01 ms against 10.30 ms,
// 10.85 against 11.19 ms and 11.12 against 11.30 ms (medians of 400-600
// alternating runs; one more comparison of 400 runs showed no
// difference, 11.15 against 11.19 ms). The switch has a fixed cost,
// 0.05-0.2 ms (the runtime hands the second processor's cached memory
// back), so the six handshakes of one versions check do not repay it:
// 3.67 against 3.58 ms without it (800 alternating runs).
func oneProcessor() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// Run probes every target and renders the results.
func Run(ctx context.Context, opts *Options) error {
	// Close any connection cmd/probe/early started that the prober did
	// not take over (none when its hellos were the ones asked).
	defer prestart.Discard()
	prober := opts.Prober
	if prober == nil {
		prober = opts.Factory.Prober()
	}
	jobs, failed := resolveTargets(ctx, opts)
	outs := make([]Outcome, len(jobs))
	sem := make(chan struct{}, opts.Concurrency)
	var wg sync.WaitGroup
	for i, t := range jobs {
		if f, ok := failed[i]; ok {
			outs[i] = f
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			req := platform.ProbeRequest{
				Address: t.Address(), ServerName: t.ServerName, StartTLS: t.StartTLS,
				Timeout: opts.Timeout, Ciphers: opts.Ciphers, Certificate: true,
			}
			res, err := prober.Probe(ctx, req)
			if err != nil {
				res = platform.ProbeResult{Address: req.Address, Error: err.Error()}
			}
			outs[i] = Judge(t, res, opts.MinVersion)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	out := opts.Factory.IO.Out
	var err error
	if opts.Format == cmdutil.FormatJSON {
		err = WriteJSON(out, outs, opts.MinVersion)
	} else {
		err = WriteText(out, outs, opts.MinVersion)
	}
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	unreachable, failing := 0, 0
	for _, o := range outs {
		switch {
		case !o.Reachable:
			unreachable++
		case !o.Compliant:
			failing++
		}
	}
	if unreachable > 0 {
		return cmdutil.Exit(cmdutil.ExitUsage, fmt.Errorf("%d of %d target addresses could not be probed", unreachable, len(outs)))
	}
	if failing > 0 {
		return cmdutil.Exit(cmdutil.ExitNonCompliant, nil)
	}
	return nil
}

// resolveTargets turns every target into one job per address: IP targets
// stay as they are, a host name becomes one job per address it resolves
// to (IPv4 first, duplicates dropped). A name that does not resolve keeps
// one job, already failed (failed maps its index to the outcome).
func resolveTargets(ctx context.Context, opts *Options) ([]Target, map[int]Outcome) {
	resolve := opts.Resolve
	if resolve == nil {
		resolve = func(ctx context.Context, host string) ([]net.IP, error) {
			return net.DefaultResolver.LookupIP(ctx, "ip", host)
		}
	}
	addrs := make([][]net.IP, len(opts.Targets))
	errs := make([]error, len(opts.Targets))
	sem := make(chan struct{}, max(opts.Concurrency, 1))
	var wg sync.WaitGroup
	for i, t := range opts.Targets {
		if net.ParseIP(t.Host) != nil {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ips, err := resolve(ctx, t.Host)
			if err == nil && len(ips) == 0 {
				err = errors.New("no addresses")
			}
			addrs[i], errs[i] = ips, err
		})
	}
	wg.Wait()
	var jobs []Target
	failed := map[int]Outcome{}
	for i, t := range opts.Targets {
		switch {
		case net.ParseIP(t.Host) != nil:
			jobs = append(jobs, t)
		case errs[i] != nil:
			res := platform.ProbeResult{Address: t.Address(), Error: fmt.Sprintf("resolve %s: %v", t.Host, errs[i])}
			failed[len(jobs)] = Judge(t, res, opts.MinVersion)
			jobs = append(jobs, t)
		default:
			for _, ip := range sortedIPs(addrs[i]) {
				j := t
				j.IP = ip.String()
				jobs = append(jobs, j)
			}
		}
	}
	return jobs, failed
}

// sortedIPs orders addresses IPv4 first, then by value, without duplicates.
func sortedIPs(ips []net.IP) []net.IP {
	out := slices.Clone(ips)
	slices.SortFunc(out, func(a, b net.IP) int {
		a4, b4 := a.To4() != nil, b.To4() != nil
		if a4 != b4 {
			if a4 {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.To16(), b.To16())
	})
	return slices.CompactFunc(out, func(a, b net.IP) bool { return a.Equal(b) })
}

// Judge applies the policy: no protocol older than min accepted, and at
// least one of TLS 1.2/1.3 (TLS 1.3 with min 1.3) accepted.
func Judge(t Target, res platform.ProbeResult, min audit.Protocol) Outcome {
	o := Outcome{Target: t, Result: res, Reachable: res.Error == ""}
	if !o.Reachable {
		o.Reason = res.Error
		return o
	}
	var accepted audit.ProtocolSet
	for _, v := range res.Accepted() {
		if p, ok := audit.ParseProtocol(v.String()); ok {
			accepted = accepted.With(p)
		}
	}
	switch {
	case !accepted.Below(min).Empty():
		o.Reason = fmt.Sprintf("accepts %s (policy: %s or newer)", accepted.Below(min), min)
	case accepted.AtLeast(min).Empty():
		o.Reason = fmt.Sprintf("accepts no protocol at %s or newer", min)
	default:
		o.Compliant = true
	}
	return o
}
