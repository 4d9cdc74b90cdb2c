package nginx

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/openssl"
)

// Well-known places, in the order they are tried.
var (
	// wellKnownConfs: Debian/RHEL packages, source builds, FreeBSD and
	// Homebrew on Intel, Homebrew on Apple silicon.
	wellKnownConfs = []string{
		"/etc/nginx/nginx.conf",
		"/usr/local/nginx/conf/nginx.conf",
		"/usr/local/etc/nginx/nginx.conf",
		"/opt/homebrew/etc/nginx/nginx.conf",
	}
	// wellKnownBins are checked in the FS when nginx is not on PATH (often
	// the case for /usr/sbin) or when auditing another root.
	wellKnownBins = []string{
		"/usr/sbin/nginx",
		"/usr/local/sbin/nginx",
		"/usr/local/nginx/sbin/nginx",
		"/usr/bin/nginx",
		"/usr/local/bin/nginx",
		"/opt/homebrew/bin/nginx",
	}
)

// discovery is what was found before parsing.
type discovery struct {
	bin     string // binary path, "" if none
	ran     bool   // nginx -V ran successfully
	conf    string // main config (host path), "" if none
	version audit.ServerVersion
	assumed bool
	lib     openssl.Version
	libPath string
	libVia  string // "nginx -V running with", "linked libcrypto", "nginx -V built with"
	notes   []string
	looked  []string // what was looked for, for the not-found note
}

func (d *discovery) found() bool { return d.conf != "" }

// vInfo is what `nginx -V` printed.
type vInfo struct {
	version  string
	built    string
	running  string
	confPath string
	prefix   string
}

var (
	reVersion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`nginx version: [^/\s]+/(\d+(?:\.\d+)*)`) })
	reBuilt   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^built with (.*?)(?: \(running with (.*)\))?\s*$`)
	})
	reConf   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`--conf-path=('[^']*'|"[^"]*"|\S+)`) })
	rePrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`--prefix=('[^']*'|"[^"]*"|\S+)`) })
)

// parseV reads nginx -V output (nginx writes it to stderr; stdout is read
// too for wrappers that redirect it).
func parseV(out string) vInfo {
	var v vInfo
	if m := reVersion().FindStringSubmatch(out); m != nil {
		v.version = m[1]
	}
	if m := reBuilt().FindStringSubmatch(out); m != nil {
		v.built, v.running = strings.TrimSpace(m[1]), strings.TrimSpace(m[2])
	}
	unq := func(s string) string { return strings.Trim(s, `'"`) }
	if m := reConf().FindStringSubmatch(out); m != nil {
		v.confPath = unq(m[1])
	}
	if m := rePrefix().FindStringSubmatch(out); m != nil {
		v.prefix = unq(m[1])
	}
	return v
}

// confFromV applies nginx's rule: --conf-path, relative to --prefix when
// relative; absent -> conf/nginx.conf under --prefix (default
// /usr/local/nginx).
func (v vInfo) conf() string {
	prefix := v.prefix
	if prefix == "" {
		prefix = "/usr/local/nginx"
	}
	c := v.confPath
	if c == "" {
		c = "conf/nginx.conf"
	}
	if !path.IsAbs(c) {
		c = path.Join(prefix, c)
	}
	return path.Clean(c)
}

func (d *discovery) exists(env *audit.Env, p string) bool {
	fi, err := env.FS.Stat(p)
	return err == nil && !fi.IsDir()
}

func discover(ctx context.Context, env *audit.Env) (*discovery, error) {
	d := &discovery{}
	opts := env.Options

	// The binary: --nginx-bin always runs; PATH and well-known paths run
	// only on the live host (the host's nginx says nothing about a --root
	// image, but its file can still tell the linked OpenSSL).
	runnable := false
	switch {
	case opts.NginxBin != "":
		d.bin, runnable = opts.NginxBin, true
	case !opts.Rooted():
		d.looked = append(d.looked, "nginx on PATH")
		if p, err := env.Runner.LookPath("nginx"); err == nil {
			d.bin, runnable = p, true
		}
	}
	if d.bin == "" {
		d.looked = append(d.looked, wellKnownBins...)
		for _, b := range wellKnownBins {
			if d.exists(env, b) {
				d.bin, runnable = b, !opts.Rooted()
				break
			}
		}
		if d.bin != "" && !runnable {
			d.notes = append(d.notes, fmt.Sprintf("found %s under --root; not run (only --nginx-bin runs when auditing another root)", d.bin))
		}
	}

	var v vInfo
	if d.bin != "" && runnable {
		out, err := env.Runner.Run(ctx, []string{d.bin, "-V"})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			d.notes = append(d.notes, fmt.Sprintf("could not run %s -V: %v", d.bin, shortErr(err)))
		} else {
			d.ran = true
			v = parseV(string(out.Stderr) + "\n" + string(out.Stdout))
		}
	}

	// The config.
	switch {
	case opts.NginxConf != "":
		d.conf = cleanPath(opts.NginxConf)
		// A relative --nginx-conf means the working directory on the live
		// host; under --root, paths are host paths, so it is rooted at /.
		if !path.IsAbs(d.conf) && !opts.Rooted() {
			if abs, err := filepath.Abs(d.conf); err == nil {
				d.conf = filepath.ToSlash(abs)
			}
		}
		if !d.exists(env, d.conf) {
			_, err := env.FS.Stat(d.conf)
			if err == nil {
				err = errors.New("is a directory")
			}
			return nil, readErr(d.conf, "", 0, err)
		}
	default:
		if d.ran {
			c := v.conf()
			d.looked = append(d.looked, c+" (from "+d.bin+" -V)")
			if d.exists(env, c) {
				d.conf = c
			} else {
				d.notes = append(d.notes, fmt.Sprintf("%s -V names %s, which does not exist", d.bin, c))
			}
		}
		if d.conf == "" {
			d.looked = append(d.looked, wellKnownConfs...)
			for _, c := range wellKnownConfs {
				if d.exists(env, c) {
					d.conf = c
					break
				}
			}
		}
	}

	// The version: the flag wins, then nginx -V; unknown means the oldest
	// defaults.
	switch {
	case opts.NginxVersion != "":
		sv, err := audit.ParseServerVersion(opts.NginxVersion)
		if err != nil {
			return nil, &audit.ConfigError{Msg: fmt.Sprintf("invalid --nginx-version %q: want a version such as 1.22.1", opts.NginxVersion)}
		}
		d.version = sv
	case v.version != "":
		if sv, err := audit.ParseServerVersion(v.version); err == nil {
			d.version = sv
		}
	}
	d.assumed = !d.version.Known()

	// The library: "running with" is what nginx really uses; the linked
	// libcrypto is next best; "built with" last.
	if v.running != "" {
		if lv, err := openssl.Parse(v.running); err == nil {
			d.lib, d.libPath, d.libVia = lv, d.bin, "nginx -V, running with"
		}
	}
	if !d.lib.Known() && d.bin != "" {
		if lib, err := openssl.LinkedLibrary(env.FS, d.bin, env.Getenv); err == nil && lib.Version.Known() {
			d.lib, d.libPath, d.libVia = lib.Version, lib.Path, "linked library"
		}
	}
	if !d.lib.Known() && v.built != "" {
		if lv, err := openssl.Parse(v.built); err == nil {
			d.lib, d.libPath, d.libVia = lv, d.bin, "nginx -V, built with"
		}
	}
	return d, nil
}

// shortErr keeps command errors to one line.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// notFound is the component for a host without nginx: it says exactly what
// was looked for.
func notFound(d *discovery) *Analysis {
	notes := append([]string{"nginx not found; looked for: " + strings.Join(d.looked, ", ")}, d.notes...)
	c := audit.Component{Kind: audit.KindNginx, Path: d.bin, Version: "", Status: audit.StatusNotFound, Notes: notes}
	if d.version.Known() {
		c.Version = d.version.String()
	}
	return &Analysis{Found: false, Binary: d.bin, Component: c, Findings: []audit.Finding{}}
}
