package apache

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/tlsfloor/tlsfloor/audit"
)

// wellKnown are the main config files of the common layouts, in the order
// they are tried.
var wellKnown = []string{
	"/etc/apache2/apache2.conf",          // Debian, Ubuntu
	"/etc/httpd/conf/httpd.conf",         // RHEL, Fedora, CentOS
	"/usr/local/etc/apache24/httpd.conf", // FreeBSD
	"/opt/homebrew/etc/httpd/httpd.conf", // Homebrew on Apple silicon
	"/usr/local/etc/httpd/httpd.conf",    // Homebrew on Intel
	"/usr/local/apache2/conf/httpd.conf", // source builds
}

// binaries are tried on PATH, in order, when --apache-bin is not given.
var binaries = []string{"apachectl", "apache2ctl", "httpd"}

// discovery is where Apache's config is and what the binary said.
type discovery struct {
	main       string
	binary     string
	serverRoot string // from -V HTTPD_ROOT, only when main also came from -V
	version    audit.ServerVersion
	static     []string // from `httpd -l`; nil when not known
	looked     []string
	notes      []string
}

// VInfo is what `httpd -V` prints that tlsfloor uses.
type VInfo struct {
	Version    audit.ServerVersion
	HTTPDRoot  string
	ConfigFile string // SERVER_CONFIG_FILE as printed (maybe relative)
}

var (
	reVersion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Server version:\s*Apache/([0-9][0-9.]*)`) })
	reDefine  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`-D\s+(HTTPD_ROOT|SERVER_CONFIG_FILE)="([^"]*)"`) })
)

// ParseV reads the output of apachectl -V / apache2ctl -V / httpd -V.
func ParseV(out string) VInfo {
	var v VInfo
	if m := reVersion().FindStringSubmatch(out); m != nil {
		v.Version, _ = audit.ParseServerVersion(m[1])
	}
	for _, m := range reDefine().FindAllStringSubmatch(out, -1) {
		if m[1] == "HTTPD_ROOT" {
			v.HTTPDRoot = m[2]
		} else {
			v.ConfigFile = m[2]
		}
	}
	return v
}

// MainConfig is SERVER_CONFIG_FILE resolved against HTTPD_ROOT.
func (v VInfo) MainConfig() string {
	if v.ConfigFile == "" {
		return ""
	}
	if path.IsAbs(v.ConfigFile) || v.HTTPDRoot == "" {
		return path.Clean(v.ConfigFile)
	}
	return path.Join(v.HTTPDRoot, v.ConfigFile)
}

func discover(ctx context.Context, env *audit.Env) discovery {
	var d discovery
	opts := env.Options
	var bins []string
	switch {
	case opts.ApacheBin != "":
		bins = []string{opts.ApacheBin}
	case opts.Rooted():
		d.notes = append(d.notes, "--root is set: binaries on PATH are not run (use --apache-bin)")
	case env.Runner != nil:
		for _, b := range binaries {
			if p, err := env.Runner.LookPath(b); err == nil {
				bins = append(bins, p)
			} else {
				d.looked = append(d.looked, b+" on PATH")
			}
		}
	}
	var info VInfo
	for _, b := range bins {
		if env.Runner == nil {
			break
		}
		out, err := env.Runner.Run(ctx, []string{b, "-V"})
		info = ParseV(string(out.Stdout) + "\n" + string(out.Stderr))
		if info.Version.Known() || info.ConfigFile != "" {
			d.binary = b
			d.looked = append(d.looked, b+" -V")
			break
		}
		if err != nil {
			d.notes = append(d.notes, fmt.Sprintf("%s -V failed: %v", b, err))
		}
		d.looked = append(d.looked, b+" -V")
	}
	d.version = info.Version
	if d.binary != "" {
		// The built-in modules decide <IfModule mod_version.c> and the
		// like: Debian builds in eight, Red Hat three.
		out, err := env.Runner.Run(ctx, []string{d.binary, "-l"})
		if d.static = ParseL(string(out.Stdout)); d.static == nil {
			why := ""
			if err != nil {
				why = fmt.Sprintf(" (%v)", err)
			}
			d.notes = append(d.notes, fmt.Sprintf("%s -l listed no compiled-in modules%s: assuming Debian's", d.binary, why))
		}
	}
	if opts.ApacheConf != "" {
		d.main = opts.ApacheConf
		if !path.IsAbs(filepath.ToSlash(d.main)) && !opts.Rooted() {
			if abs, err := filepath.Abs(d.main); err == nil {
				d.main = abs
			}
		}
		d.main = path.Clean(filepath.ToSlash(d.main))
		return d
	}
	if m := info.MainConfig(); m != "" && env.FS != nil {
		if _, err := env.FS.Stat(m); err == nil {
			d.main = m
			d.serverRoot = info.HTTPDRoot
			return d
		}
		d.looked = append(d.looked, m+" (from -V)")
	}
	if env.FS == nil {
		return d
	}
	for _, m := range wellKnown {
		if _, err := env.FS.Stat(m); err == nil {
			d.main = m
			return d
		}
		d.looked = append(d.looked, m)
	}
	return d
}

// ParseL reads the module list of `httpd -l` ("Compiled in modules:" and
// one source file per line); nil when it lists none, or not core.c.
func ParseL(out string) []string {
	var mods []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.TrimSpace(line); strings.HasSuffix(f, ".c") && !strings.ContainsAny(f, " \t") {
			mods = append(mods, f)
		}
	}
	if !slices.Contains(mods, "core.c") {
		return nil
	}
	return mods
}

// readEnvvars reads Debian's /etc/apache2/envvars: the `export VAR=value`
// lines (shell-quoted, $VAR expanded from earlier assignments), which
// apache2ctl puts in httpd's environment and apache2.conf uses as ${VAR}.
func readEnvvars(src string) map[string]string {
	_, exported := readShellVars(src)
	return exported
}

// readShellVars reads VAR=value assignments the way readEnvvars does and
// returns all of them, then the exported ones. A systemd EnvironmentFile
// such as /etc/sysconfig/httpd has the same form without export.
func readShellVars(src string) (map[string]string, map[string]string) {
	all := map[string]string{}
	exported := map[string]bool{}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		export := false
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			export, line = true, strings.TrimSpace(rest)
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			if export {
				for _, n := range strings.Fields(line) {
					exported[n] = true
				}
			}
			continue
		}
		if !isShellName(name) {
			continue
		}
		all[name] = shellValue(val, all)
		if export {
			exported[name] = true
		}
	}
	out := map[string]string{}
	for n := range exported {
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return all, out
}

// commandLineDefines returns the names that httpd arguments define with
// -D NAME or -DNAME, in order.
func commandLineDefines(args string) []string {
	var names []string
	fields := strings.Fields(args)
	for i := 0; i < len(fields); i++ {
		switch f := fields[i]; {
		case f == "-D" && i+1 < len(fields):
			i++
			names = append(names, fields[i])
		case strings.HasPrefix(f, "-D") && len(f) > 2:
			names = append(names, f[2:])
		}
	}
	return names
}

func isShellName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// shellValue evaluates the word after NAME= the way sh does for the simple
// forms envvars uses: '...' literal, "..." and bare text with $VAR and
// ${VAR} expanded, a backslash escaping the next character; the word ends
// at unquoted blanks (a trailing "; ..." or comment is ignored).
func shellValue(s string, vars map[string]string) string {
	var b strings.Builder
	expand := func(i int) int {
		// s[i] == '$'
		if i+1 < len(s) && s[i+1] == '{' {
			j := strings.IndexByte(s[i+2:], '}')
			if j >= 0 {
				name := s[i+2 : i+2+j]
				if n, _, ok := strings.Cut(name, ":"); ok {
					name = n
				}
				b.WriteString(vars[name])
				return i + 3 + j
			}
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == i+1 {
			b.WriteByte('$')
			return j
		}
		b.WriteString(vars[s[i+1:j]])
		return j
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == ';':
			return b.String()
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				b.WriteString(s[i+1:])
				return b.String()
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case c == '"':
			i++
			for i < len(s) && s[i] != '"' {
				switch {
				case s[i] == '\\' && i+1 < len(s):
					b.WriteByte(s[i+1])
					i += 2
				case s[i] == '$':
					i = expand(i)
				default:
					b.WriteByte(s[i])
					i++
				}
			}
			i++
		case c == '\\' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i += 2
		case c == '$':
			i = expand(i)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
