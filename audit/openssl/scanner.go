package openssl

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
)

// NewScanner returns the scanner for the openssl CLI and the system crypto
// policy. It always reports both components, found or not, so every Linux
// audit says which OpenSSL the host has.
func NewScanner() audit.Scanner { return scanner{} }

type scanner struct{}

func (scanner) Name() string { return "openssl" }

// DefaultCLIPath is where distributions install the openssl CLI; under
// --root it is read, not run.
const DefaultCLIPath = "/usr/bin/openssl"

// CLI is what the openssl command line tool says about itself.
type CLI struct {
	Path    string
	Lib     Library // Version always; Path when the library file was found
	Dir     string  // OPENSSLDIR from `openssl version -a`
	Level   int     // compiled-in security level, 0 when unknown
	Ran     bool    // the version came from running the binary
	Looked  []string
	Problem string // why the version could not be read, when found but unreadable
}

var (
	reOpenSSLDir = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^OPENSSLDIR: "([^"]*)"`) })
	reLevelFlag  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`-DOPENSSL_TLS_SECURITY_LEVEL=(\d)`) })
)

// FindCLI locates the openssl CLI and reads its library version: by
// running `openssl version -a` (the --openssl-bin binary, or openssl on PATH
// on the real host), or, under --root, from the libcrypto that
// /usr/bin/openssl links. ok is false when there is no CLI.
func FindCLI(ctx context.Context, env *audit.Env) (CLI, bool) {
	var cli CLI
	bin := env.Options.OpenSSLBin
	switch {
	case bin != "":
		cli.Looked = append(cli.Looked, "--openssl-bin "+bin)
	case !env.Options.Rooted() && env.Runner != nil:
		cli.Looked = append(cli.Looked, "openssl on PATH")
		if p, err := env.Runner.LookPath("openssl"); err == nil {
			bin = p
		}
	default:
		cli.Looked = append(cli.Looked, DefaultCLIPath+" under --root "+env.Options.Root+" (binaries on PATH are not run under --root)")
		if _, err := env.FS.Stat(DefaultCLIPath); err != nil {
			return cli, false
		}
		cli.Path = DefaultCLIPath
		lib, err := LinkedLibrary(env.FS, DefaultCLIPath, nil)
		if err != nil {
			cli.Problem = err.Error()
			return cli, true
		}
		cli.Lib = lib
		return cli, true
	}
	if bin == "" {
		return cli, false
	}
	cli.Path = bin
	if env.Runner == nil {
		cli.Problem = "no command runner"
		return cli, true
	}
	out, err := env.Runner.Run(ctx, []string{bin, "version", "-a"})
	if err != nil {
		// 0.9.x and some vendor builds lack -a; the plain form is enough.
		if out, err = env.Runner.Run(ctx, []string{bin, "version"}); err != nil {
			cli.Problem = err.Error()
			return cli, true
		}
	}
	text := string(out.Stdout)
	first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	v, err := Parse(first)
	if err != nil {
		cli.Problem = fmt.Sprintf("%s version: %v", bin, err)
		return cli, true
	}
	cli.Ran = true
	cli.Lib.Version = v
	if m := reOpenSSLDir().FindStringSubmatch(text); m != nil {
		cli.Dir = m[1]
	}
	if m := reLevelFlag().FindStringSubmatch(text); m != nil {
		cli.Level, _ = strconv.Atoi(m[1])
	}
	// Name the library file too, so the report can be matched with the
	// servers' libraries; not being able to is only a missing detail.
	getenv := env.Getenv
	if env.Options.Rooted() {
		getenv = nil // the root's services do not run with our environment
	}
	if lib, err := LinkedLibrary(env.FS, bin, getenv); err == nil && lib.Version.Equal(v) {
		cli.Lib.Path, cli.Lib.SONAME, cli.Lib.Via, cli.Lib.Static = lib.Path, lib.SONAME, lib.Via, lib.Static
	}
	return cli, true
}

func (scanner) Scan(ctx context.Context, env *audit.Env) (audit.Result, error) {
	now := time.Now()
	if env.Now != nil {
		now = env.Now()
	}
	var res audit.Result
	cli, found := FindCLI(ctx, env)
	switch {
	case !found:
		comp := audit.Component{
			Kind: audit.KindOpenSSL, Status: audit.StatusNotFound,
			Notes: []string{"openssl CLI not found; looked for: " + strings.Join(cli.Looked, "; ") + "; name it with --openssl-bin"},
		}
		// The library may be there without the CLI (slim images): judge it.
		if lib, err := SystemLibrary(env.FS); err == nil {
			cli.Lib = lib
			c, fs := LibraryReport(lib, "programs linking the system libcrypto", now)
			comp.Path, comp.Version, comp.Status = c.Path, c.Version, c.Status
			comp.Notes = append(comp.Notes, c.Notes...)
			res.Findings = append(res.Findings, fs...)
		}
		res.Components = append(res.Components, comp)
	case cli.Problem != "":
		res.Components = append(res.Components, audit.Component{
			Kind: audit.KindOpenSSL, Path: cli.Path, Status: audit.StatusError, Error: cli.Problem,
		})
		res.Findings = append(res.Findings, audit.NewFinding(audit.RuleComponentUnknown, audit.KindOpenSSL,
			audit.Location{File: cli.Path}, 0, "cannot read the OpenSSL version of "+cli.Path+": "+cli.Problem))
	default:
		lib := cli.Lib
		libFile := lib.Path
		lib.Path = cli.Path
		comp, fs := LibraryReport(lib, "openssl CLI", now)
		if libFile != "" && libFile != cli.Path {
			comp.Notes = append(comp.Notes, "library file "+libFile)
		}
		if cli.Ran {
			comp.Notes = append(comp.Notes, "version from `"+cli.Path+" version -a`")
		} else {
			comp.Notes = append(comp.Notes, "version read from the linked libcrypto (not run under --root)")
		}
		if cli.Dir != "" {
			comp.Notes = append(comp.Notes, "OPENSSLDIR "+cli.Dir)
		}
		if cli.Level > 0 {
			comp.Notes = append(comp.Notes, fmt.Sprintf("compiled-in security level %d", cli.Level))
		}
		res.Components = append(res.Components, comp)
		res.Findings = append(res.Findings, fs...)
	}

	confPath := ""
	if cli.Dir != "" {
		confPath = strings.TrimSuffix(cli.Dir, "/") + "/openssl.cnf"
	}
	sp, err := ReadSystemPolicy(env.FS, confPath)
	if err != nil {
		return audit.Result{}, err
	}
	host := Host{Lib: cli.Lib.Version, DefaultSecLevel: cli.Level, Ubuntu: isUbuntu(env), Path: cli.Path}
	if host.Path == "" {
		host.Path = cli.Lib.Path
	}
	if !host.Lib.Known() {
		// No CLI: the library the CLI would use is still the system one.
		if lib, err := LinkedLibrary(env.FS, DefaultCLIPath, nil); err == nil {
			host.Lib, host.Path = lib.Version, lib.Path
		}
	}
	comp, fs := sp.Evaluate(host, env.Policy.MinProtocol)
	if !env.Options.Rooted() && env.Getenv != nil {
		if oc := env.Getenv("OPENSSL_CONF"); oc != "" {
			comp.Notes = append(comp.Notes, "OPENSSL_CONF="+oc+" is set in this shell; services read it only if their own environment sets it")
		}
	}
	if host.Ubuntu {
		comp.Notes = append(comp.Notes, "Ubuntu: OpenSSL is patched so that security level 2 refuses TLS 1.0/1.1 even when a program lowers its minimum")
	}
	res.Components = append(res.Components, comp)
	res.Findings = append(res.Findings, fs...)
	return res, nil
}

func isUbuntu(env *audit.Env) bool {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		data, err := env.FS.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k == "ID" {
				return strings.Trim(v, `"'`) == "ubuntu"
			}
		}
		return false
	}
	return false
}
