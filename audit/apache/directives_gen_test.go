package apache

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

const directiveTableFile = "directives_table.go"

// Debian's module snippets: one LoadModule line each, and "# Depends:"
// comments naming the snippets that must be loaded first.
const modsAvailable = "/etc/apache2/mods-available"

// missingDepends are dependencies Debian's snippets do not declare but the
// modules need to load (mod_dav_lock uses mod_dav's symbols).
var missingDepends = map[string][]string{"dav_lock": {"dav"}}

// TestDirectiveTableDerived checks directives_table.go against the httpd on
// this host: every module snippet in /etc/apache2/mods-available is loaded
// on its own (after its dependencies and an MPM), and `apache2 -L` lists
// what it adds. With the httpd version the table was made from, the table
// must match exactly; with another, every name in the table must still
// belong to the module the table says (names httpd added since are logged).
// To regenerate:
//
//	go test ./audit/apache -run TestDirectiveTableDerived -update
func TestDirectiveTableDerived(t *testing.T) {
	httpd := platformtest.RequireTool(t, "apache2")
	if _, err := os.Stat(modsAvailable); err != nil {
		platformtest.Require(t, false, modsAvailable+" is not present")
	}
	out, err := exec.Command(httpd, "-v").Output()
	if err != nil {
		t.Fatalf("%s -v: %v", httpd, err)
	}
	version := ParseV(string(out)).Version.String()
	derived := deriveDirectiveTable(t, httpd)

	if *platformtest.Update {
		if err := os.WriteFile(directiveTableFile, []byte(renderDirectiveTable(version, derived)), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	stored := map[string][]string{}
	for _, m := range moduleDirectives {
		stored[m.module] = m.names
	}
	if version == directiveTableVersion {
		src, err := os.ReadFile(directiveTableFile)
		if err != nil {
			t.Fatal(err)
		}
		if string(src) != renderDirectiveTable(version, derived) {
			t.Errorf("%s differs from what httpd %s lists; run go test ./audit/apache -run TestDirectiveTableDerived -update", directiveTableFile, version)
		}
	} else {
		t.Logf("httpd %s here, table made from %s: checking the table's names only", version, directiveTableVersion)
	}
	for mod, names := range stored {
		have, ok := derived[mod]
		if !ok {
			t.Logf("module %q of the table is not in %s here", mod, modsAvailable)
			continue
		}
		for _, n := range names {
			if !slices.Contains(have, n) {
				t.Errorf("table: %s registers %q, but httpd %s does not list it for that module", describeModule(mod), n, version)
			}
		}
		for _, n := range have {
			if !slices.Contains(names, n) {
				t.Logf("httpd %s: %s registers %q, which the table lacks", version, describeModule(mod), n)
			}
		}
	}
	nameRE := regexp.MustCompile(`^<?[A-Za-z][A-Za-z0-9_]*$`)
	for _, m := range moduleDirectives {
		for _, n := range m.names {
			if !nameRE.MatchString(n) {
				t.Errorf("table: %s: %q is not a directive name", describeModule(m.module), n)
			}
		}
	}
	if len(stored[""]) < 100 || !slices.Contains(stored["ssl_module"], "SSLProtocol") || !slices.Contains(stored[""], "<VirtualHost") {
		t.Errorf("table looks incomplete: %d always-available names, ssl_module %v", len(stored[""]), stored["ssl_module"])
	}
}

func describeModule(mod string) string {
	if mod == "" {
		return "the core"
	}
	return mod
}

// snippet is one mods-available/NAME.load file.
type snippet struct {
	name    string
	module  string   // the identifier its LoadModule line names
	lines   []string // its LoadModule lines
	depends []string // snippet names from "# Depends:"
}

func readSnippets(t *testing.T) map[string]snippet {
	files, err := filepath.Glob(filepath.Join(modsAvailable, "*.load"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no module snippets in %s: %v", modsAvailable, err)
	}
	dependsRE := regexp.MustCompile(`^#\s*Depends:\s*(.*)$`)
	out := map[string]snippet{}
	for _, f := range files {
		s := snippet{name: strings.TrimSuffix(filepath.Base(f), ".load")}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if m := dependsRE.FindStringSubmatch(line); m != nil {
				s.depends = append(s.depends, strings.Fields(strings.ReplaceAll(m[1], ",", " "))...)
			}
			if f := strings.Fields(line); len(f) == 3 && f[0] == "LoadModule" {
				s.lines = append(s.lines, line)
				if s.module == "" {
					s.module = f[1]
				}
			}
		}
		s.depends = append(s.depends, missingDepends[s.name]...)
		if s.module != "" {
			out[s.name] = s
		}
	}
	return out
}

// loadLines returns the LoadModule lines for name after those of its
// dependencies, each snippet once.
func loadLines(all map[string]snippet, name string, seen map[string]bool) []string {
	if seen[name] {
		return nil
	}
	seen[name] = true
	s, ok := all[name]
	if !ok {
		return nil
	}
	var out []string
	for _, d := range s.depends {
		out = append(out, loadLines(all, d, seen)...)
	}
	return append(out, s.lines...)
}

// listDirectives runs `httpd -L` on a config that loads only lines and
// returns the names it lists (directives, and sections as "<Name"), each
// with the source file of the module that registers it ("mod_ssl.c").
func listDirectives(httpd, dir string, lines []string) (map[string]string, error) {
	f, err := os.CreateTemp(dir, "*.conf")
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("ServerRoot %s\nServerName localhost\nErrorLog /dev/null\nPidFile %s/pid\n%s\n", dir, dir, strings.Join(lines, "\n"))
	if _, err := f.WriteString(conf); err != nil {
		return nil, err
	}
	f.Close()
	var stderr strings.Builder
	cmd := exec.Command(httpd, "-f", f.Name(), "-L")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -f %s -L: %v\n%s\nconfig:\n%s", httpd, f.Name(), err, stderr.String(), conf)
	}
	// "<Directory (core.c)", then indented description lines; a few
	// descriptions run on to unindented lines (mod_authnz_ldap's "URL of
	// the form ldap://..."), which never end in "(file.c)".
	lineRE := regexp.MustCompile(`^(\S+) \(([^()\s]+\.c)\)$`)
	names := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if m := lineRE.FindStringSubmatch(l); m != nil {
			names[m[1]] = m[2]
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s -f %s -L listed no directives:\n%s", httpd, f.Name(), out)
	}
	return names, nil
}

// alwaysFiles are the sources every httpd is built with; what they register
// is in every configuration (module "" of the table). Debian's other static
// modules (mod_version, mod_unixd, ...) are loadable modules elsewhere, so
// their names stay with their modules, which the parser counts as loaded
// when they are built in (ParseOptions.StaticModules).
var alwaysFiles = map[string]bool{"core.c": true, "http_core.c": true, "mod_so.c": true}

// deriveDirectiveTable maps module identifiers to the sorted names each
// registers, attributed by the source file httpd -L names: the core's to "",
// an MPM's (event.c) to its snippet's module, a static module's by its file
// (mod_version.c: version_module), a loadable module's to its snippet's.
func deriveDirectiveTable(t *testing.T, httpd string) map[string][]string {
	all := readSnippets(t)
	dir := t.TempDir()
	if _, ok := all["mpm_event"]; !ok {
		t.Fatalf("no mpm_event snippet in %s", modsAvailable)
	}
	owners := map[string]map[string]bool{} // module -> names
	add := func(module, name string) {
		if owners[module] == nil {
			owners[module] = map[string]bool{}
		}
		owners[module][name] = true
	}
	var mu sync.Mutex
	var errs []error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	event := all["mpm_event"].lines
	for name, s := range all {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if strings.HasPrefix(name, "mpm_") {
				// An MPM alone: the core, the static modules and the MPM.
				listed, err := listDirectives(httpd, dir, s.lines)
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for n, file := range listed {
					switch {
					case alwaysFiles[file]:
						add("", n)
					case strings.HasPrefix(file, "mod_"):
						add(moduleID(file), n)
					default: // event.c, prefork.c, worker.c
						add(s.module, n)
					}
				}
				return
			}
			seen := map[string]bool{name: true}
			var deps []string
			for _, d := range s.depends {
				deps = append(deps, loadLines(all, d, seen)...)
			}
			before, err := listDirectives(httpd, dir, slices.Concat(event, deps))
			if err != nil {
				fail(err)
				return
			}
			after, err := listDirectives(httpd, dir, slices.Concat(event, deps, s.lines))
			if err != nil {
				fail(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for n := range after {
				if _, ok := before[n]; !ok {
					add(s.module, n)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	table := map[string][]string{}
	for mod, names := range owners {
		table[mod] = slices.Sorted(maps.Keys(names))
	}
	return table
}

func renderDirectiveTable(version string, table map[string][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `// Code generated by TestDirectiveTableDerived from apache2 -L; DO NOT EDIT.

package apache

// directiveTableVersion is the httpd the table was read from.
const directiveTableVersion = %q

// moduleDirectives lists, per module identifier (as LoadModule names it),
// the directives and sections ("<Name") the module registers, as httpd
// %s lists them with -L for each module snippet Debian ships and for its
// static modules. Module "" holds what every httpd has: core.c,
// http_core.c and mod_so.c. <IfDirective> and <IfSection> are evaluated
// with it.
var moduleDirectives = [...]struct {
	module string
	names  []string
}{
`, version, version)
	for _, mod := range slices.Sorted(maps.Keys(table)) {
		names := table[mod]
		if len(names) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\t{%q, []string{", mod)
		for i, n := range names {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", n)
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// TestRealIfDirective compares the parser's <IfDirective>/<IfSection> with
// httpd's own: each case loads some modules, then an Error directive inside
// the section tells whether httpd took it (`apache2 -t` fails with that
// message) and an SSLProtocol next to it whether the parser did.
func TestRealIfDirective(t *testing.T) {
	httpd := platformtest.RequireTool(t, "apache2")
	if _, err := os.Stat(modsAvailable); err != nil {
		platformtest.Require(t, false, modsAvailable+" is not present")
	}
	all := readSnippets(t)
	tests := []struct {
		section, arg string
		load         []string // snippets loaded before the section
		after        []string // snippets loaded after it
	}{
		{"IfDirective", "SSLProtocol", nil, []string{"ssl"}},
		{"IfDirective", "SSLProtocol", []string{"ssl"}, nil},
		{"IfDirective", "!SSLProtocol", nil, nil},
		{"IfDirective", "!sslprotocol", []string{"ssl"}, nil},
		{"IfDirective", "SSLProxyProtocol", []string{"ssl"}, nil},
		{"IfDirective", "ProxyPass", nil, nil},
		{"IfDirective", "ProxyPass", []string{"proxy_http"}, nil},
		{"IfDirective", "Header", []string{"headers"}, nil},
		{"IfDirective", "Header", []string{"ssl"}, nil},
		{"IfDirective", "ServerName", nil, nil},
		{"IfDirective", "StartServers", nil, nil},
		{"IfDirective", "AsyncRequestWorkerFactor", nil, nil},
		{"IfDirective", "MDomain", []string{"md"}, nil},
		{"IfDirective", "VirtualHost", nil, nil},
		{"IfSection", "VirtualHost", nil, nil},
		{"IfSection", "!VirtualHost", nil, nil},
		{"IfSection", "Proxy", nil, nil},
		{"IfSection", "proxymatch", []string{"proxy"}, nil},
		{"IfSection", "MDomainSet", []string{"md"}, nil},
		{"IfSection", "SSLProtocol", []string{"ssl"}, nil},
		{"IfDirective", "User", nil, nil},    // mod_unixd, built in on Debian
		{"IfSection", "IfVersion", nil, nil}, // mod_version, built in on Debian
		{"IfDirective", "Listen", nil, nil},  // registered by the MPM
	}
	dir := t.TempDir()
	for i, tt := range tests {
		name := fmt.Sprintf("%s %s after %v", tt.section, tt.arg, tt.load)
		lines := func(snips []string) string {
			seen := map[string]bool{}
			var out []string
			for _, s := range snips {
				out = append(out, loadLines(all, s, seen)...)
			}
			return strings.Join(out, "\n")
		}
		conf := filepath.Join(dir, fmt.Sprintf("case%d.conf", i))
		text := fmt.Sprintf("ServerRoot %s\n%s\n%s\nErrorLog /dev/null\nPidFile %s/pid\n<%s %s>\nError \"tlsfloor-active\"\nSSLProtocol marker\n</%s>\n%s\n",
			dir, all["mpm_event"].lines[0], lines(tt.load), dir, tt.section, tt.arg, tt.section, lines(tt.after))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(httpd, "-t", "-f", conf).CombinedOutput()
		httpdActive := strings.Contains(string(out), "tlsfloor-active")
		if err == nil == httpdActive {
			t.Fatalf("%s: apache2 -t: err %v, output:\n%s", name, err, out)
		}
		cfg, perr := Parse(platform.NewOSFS("/"), conf, ParseOptions{Version: sv("2.4.71")})
		if perr != nil {
			t.Fatalf("%s: %v", name, perr)
		}
		var ours []bool
		for _, d := range cfg.Directives {
			if strings.EqualFold(d.Name, "SSLProtocol") {
				ours = append(ours, d.Active)
			}
		}
		if len(ours) != 1 {
			t.Fatalf("%s: parser saw %d SSLProtocol lines", name, len(ours))
		}
		if ours[0] != httpdActive {
			t.Errorf("%s: httpd active=%v, parser active=%v", name, httpdActive, ours[0])
		}
	}
}
