package nginx

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// corpusDir is the shared real-world config corpus, read from disk because
// its symlinks matter (go:embed and module zips drop them).
// TLSFLOOR_CORPUS overrides the location.
func corpusDir() string {
	return platformtest.CorpusDir()
}

// mountFS shows a corpus folder at /etc/nginx, as the corpus README's
// "root / path mapping" column says, plus synthetic files (a wrapper main
// config for standalone fragments).
type mountFS struct {
	dir   string
	extra fstest.MapFS // keys without the leading "/"
}

// stockFiles ship with every nginx package next to nginx.conf; many corpus
// files include them but the corpus folders do not carry them. When a tree
// lacks one, it is read from nginx's own conf/ directory (and Debian's
// proxy_params from a stand-in), as on a real host.
var stockFiles = map[string]string{
	"fastcgi_params": "nginx-upstream-conf/fastcgi_params",
	"fastcgi.conf":   "nginx-upstream-conf/fastcgi.conf",
	"mime.types":     "nginx-upstream-conf/mime.types",
	"scgi_params":    "nginx-upstream-conf/scgi_params",
	"uwsgi_params":   "nginx-upstream-conf/uwsgi_params",
}

const proxyParams = "proxy_set_header Host $http_host;\nproxy_set_header X-Real-IP $remote_addr;\n"

const mount = "/etc/nginx"

func (m mountFS) real(name string) (string, bool) {
	name = path.Clean(name)
	if name == mount || strings.HasPrefix(name, mount+"/") {
		r := filepath.Join(m.dir, filepath.FromSlash(strings.TrimPrefix(name, mount)))
		if stock, ok := stockFiles[strings.TrimPrefix(name, mount+"/")]; ok {
			if _, err := os.Lstat(r); err != nil {
				return filepath.Join(corpusDir(), stock), true
			}
		}
		return r, true
	}
	return "", false
}

func (m mountFS) host(real string) (string, bool) {
	for name, stock := range stockFiles {
		if real == filepath.Join(corpusDir(), stock) {
			return path.Join(mount, name), true
		}
	}
	rel, err := filepath.Rel(m.dir, real)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", false
	}
	return path.Join(mount, filepath.ToSlash(rel)), true
}

func notExist(op, name string) error { return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist} }

func (m mountFS) ReadFile(name string) ([]byte, error) {
	if f, ok := m.extra[strings.TrimPrefix(name, "/")]; ok {
		return f.Data, nil
	}
	r, ok := m.real(name)
	if !ok {
		return nil, notExist("open", name)
	}
	b, err := os.ReadFile(r)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.Unwrap(err)}
	}
	return b, nil
}

func (m mountFS) Stat(name string) (fs.FileInfo, error) {
	if _, ok := m.extra[strings.TrimPrefix(name, "/")]; ok {
		return m.extra.Stat(strings.TrimPrefix(name, "/"))
	}
	r, ok := m.real(name)
	if !ok {
		return nil, notExist("stat", name)
	}
	return os.Stat(r)
}

func (m mountFS) Lstat(name string) (fs.FileInfo, error) {
	if _, ok := m.extra[strings.TrimPrefix(name, "/")]; ok {
		return m.extra.Stat(strings.TrimPrefix(name, "/"))
	}
	r, ok := m.real(name)
	if !ok {
		return nil, notExist("lstat", name)
	}
	return os.Lstat(r)
}

func (m mountFS) ReadDir(name string) ([]fs.DirEntry, error) {
	r, ok := m.real(name)
	if !ok {
		return nil, notExist("readdir", name)
	}
	return os.ReadDir(r)
}

func (m mountFS) Glob(pattern string) ([]string, error) {
	r, ok := m.real(pattern)
	if !ok {
		return nil, nil
	}
	matches, err := filepath.Glob(r)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, x := range matches {
		if h, ok := m.host(x); ok {
			out = append(out, h)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m mountFS) EvalSymlinks(name string) (string, error) {
	if _, ok := m.extra[strings.TrimPrefix(name, "/")]; ok {
		return name, nil
	}
	r, ok := m.real(name)
	if !ok {
		return "", notExist("evalsymlinks", name)
	}
	p, err := filepath.EvalSymlinks(r)
	if err != nil {
		return "", err
	}
	h, ok := m.host(p)
	if !ok {
		return "", notExist("evalsymlinks", name)
	}
	return h, nil
}

// corpusEntry is one thing to audit: a folder mounted at /etc/nginx and a
// main file in it (relative), or a standalone fragment wrapped in http {}.
type corpusEntry struct {
	dir, main string
	fragment  bool
}

func (e corpusEntry) String() string { return filepath.Join(e.dir, e.main) }

func isMeta(name string) bool {
	return strings.HasPrefix(name, "LICENSE") || name == "SOURCE.txt" || name == "NOTICE" || name == "README.md"
}

// regularFiles lists the regular (non-symlink) files directly in dir.
func regularFiles(t *testing.T, dir string) []string {
	es, err := os.ReadDir(filepath.Join(corpusDir(), dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Type().IsRegular() && !isMeta(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

func exists(dir, name string) bool {
	_, err := os.Stat(filepath.Join(corpusDir(), dir, name))
	return err == nil
}

// corpusEntries lists the nginx entry points of the corpus README's
// "Entry points" table.
func corpusEntries(t *testing.T) []corpusEntry {
	var es []corpusEntry
	add := func(dir, main string) { es = append(es, corpusEntry{dir: dir, main: main}) }
	standalone := func(dir, name string) { es = append(es, corpusEntry{dir: dir, main: name, fragment: true}) }

	add("certbot-nginx-testdata/etc_nginx", "nginx.conf")
	for _, f := range regularFiles(t, "certbot-nginx-testdata/etc_nginx") {
		if strings.HasSuffix(f, ".conf") && f != "nginx.conf" {
			standalone("certbot-nginx-testdata/etc_nginx", f)
		}
	}
	add("certbot-nginx-testdata/etc_nginx/ubuntu_nginx_1_4_6/default_vhost/nginx", "nginx.conf")
	for _, d := range []string{"great-nginx-config/stuff", "lots/nginx", "site-10033/nginx", "site-14402/nginx"} {
		add("certbot-compat-nginx/"+d, "nginx.conf")
	}
	apps, err := os.ReadDir(filepath.Join(corpusDir(), "certbot-nginx-roundtrip"))
	if err != nil {
		t.Fatal(err)
	}
	for _, app := range apps {
		if !app.IsDir() {
			continue
		}
		dir := "certbot-nginx-roundtrip/" + app.Name()
		switch {
		case app.Name() == "79-configs":
			for _, f := range regularFiles(t, dir) {
				standalone(dir, f)
			}
		case exists(dir, "nginx.conf"):
			add(dir, "nginx.conf")
		case app.Name() == "minio":
			add(dir, "sites-enabled/nginx.conf")
		case app.Name() == "chive":
			add(dir, "chive-nginx-master/nginx.conf")
		default:
			for _, f := range regularFiles(t, dir) {
				standalone(dir, f)
			}
		}
	}
	for _, top := range []string{"crossplane-py", "nginx-go-crossplane"} {
		cases, err := os.ReadDir(filepath.Join(corpusDir(), top))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if !c.IsDir() || c.Name() == "testdata" {
				continue
			}
			dir := top + "/" + c.Name()
			for _, f := range regularFiles(t, dir) {
				if f == "nginx.conf" || strings.HasSuffix(f, ".conf") || strings.HasSuffix(f, ".kld") {
					add(dir, f)
				}
			}
			// Cases split into sub-cases (includes-cycle/valid, .../invalid).
			subs, _ := os.ReadDir(filepath.Join(corpusDir(), dir))
			for _, s := range subs {
				if s.IsDir() && exists(dir+"/"+s.Name(), "nginx.conf") && !exists(dir, "nginx.conf") {
					add(dir+"/"+s.Name(), "nginx.conf")
				}
			}
		}
	}
	add("h5bp-server-configs-nginx", "nginx.conf")
	add("nginx-upstream-conf", "nginx.conf")
	for _, dir := range []string{"certbot-tls-configs/nginx", "gitlab-recipes-webserver/web-server/nginx", "mozilla-ssl-config-generator/nginx"} {
		for _, f := range regularFiles(t, dir) {
			standalone(dir, f)
		}
	}
	return es
}

// mustFail are the corpus README's "deliberately broken input" cases.
// crossplane-py/spelling-mistake is not here: a misspelt directive looks
// like a third-party one, and those are accepted on purpose. Nor is
// nginx-go-crossplane/broken1 (`server_name ${url ;`): lexically valid,
// only nginx's variable compiler rejects it, and it sets no protocols.
var mustFail = []string{
	"crossplane-py/bad-args/nginx.conf",
	"crossplane-py/missing-semicolon/broken-above.conf",
	"crossplane-py/missing-semicolon/broken-below.conf",
	"nginx-go-crossplane/braces/missing-brace.conf",
	"nginx-go-crossplane/braces/extra-brace.conf",
	"nginx-go-crossplane/premature-eof/nginx.conf",
	"nginx-go-crossplane/invalid-map/nginx.conf",
	"nginx-go-crossplane/missing-semicolon-above/nginx.conf",
	"nginx-go-crossplane/missing-semicolon-below/nginx.conf",
	"nginx-go-crossplane/if-expr/empty-parens.conf",
	"nginx-go-crossplane/if-expr/empty-spaced-parens.conf",
	"nginx-go-crossplane/if-expr/missing-closing-paren.conf",
	"nginx-go-crossplane/if-expr/missing-opening-paren.conf",
	"nginx-go-crossplane/includes-cycle/invalid/nginx.conf",
	"certbot-nginx-testdata/etc_nginx/broken.conf",
}

// mustParse are whole trees and edge cases the README says are valid. The
// lua-block-simple cases need blankLuaComments: crossplane's Lua lexer
// alone miscounts the brace in "-- ... that'll ... {".
var mustParse = []string{
	"crossplane-py/lua-block-simple/nginx.conf",
	"nginx-go-crossplane/lua-block-simple/simple.conf",
	"crossplane-py/lua-block-larger/nginx.conf",
	"crossplane-py/lua-block-tricky/nginx.conf",
	"nginx-upstream-conf/nginx.conf",
	"nginx-go-crossplane/ubuntu-default/nginx.conf",
	"nginx-go-crossplane/large-config/nginx.conf.kld",
	"nginx-go-crossplane/includes-cycle/valid/nginx.conf",
	"nginx-go-crossplane/lua-block-larger/nginx.conf",
	"nginx-go-crossplane/lua-block-tricky/nginx.conf",
	"crossplane-py/includes-globbed/nginx.conf",
	"crossplane-py/quote-behavior/nginx.conf",
	"crossplane-py/comments-between-args/nginx.conf",
	"crossplane-py/non-unicode/nginx.conf",
	"h5bp-server-configs-nginx/nginx.conf",
	"certbot-nginx-testdata/etc_nginx/nginx.conf",
	"certbot-nginx-testdata/etc_nginx/edge_cases.conf",
	"certbot-nginx-testdata/etc_nginx/multiline_quotes.conf",
	"certbot-nginx-testdata/etc_nginx/invalid_unicode_comments.conf",
	"certbot-compat-nginx/lots/nginx/nginx.conf",
	"certbot-compat-nginx/site-10033/nginx/nginx.conf",
	"certbot-compat-nginx/site-14402/nginx/nginx.conf",
	"certbot-nginx-roundtrip/imapproxyexample/nginx.conf",
	"certbot-nginx-roundtrip/iredmail/nginx.conf",
}

// readmeRow is one line of the corpus README's directive table.
type readmeRow struct {
	file  string // relative to the corpus
	line  int
	state string // active, commented out, mention in a comment
	name  string
	args  []string
}

var reRow = regexp.MustCompile("^\\| ([^|]+):(\\d+) \\| ([^|]+) \\| `([a-z_]+)` \\| (.*) \\|$")

// readmeRows parses the "Every TLS-protocol directive in the corpus" table
// for the nginx directives.
func readmeRows(t *testing.T) []readmeRow {
	f, err := os.Open(filepath.Join(corpusDir(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []readmeRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := reRow.FindStringSubmatch(sc.Text())
		if m == nil || !isProtocolDirective(m[4]) {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		r := readmeRow{file: m[1], line: n, state: strings.TrimSpace(m[3]), name: m[4]}
		if r.state == "active" {
			// "`TLSv1 TLSv1.1; # comment`": the arguments end at ";".
			a := strings.Trim(m[5], "`")
			a, _, _ = strings.Cut(a, ";")
			r.args = strings.Fields(a)
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		t.Fatal("no nginx rows parsed from the corpus README")
	}
	return rows
}

var reConfigErr = regexp.MustCompile(`^/etc/nginx/\S+(:\d+)?: \S.*$`)

func TestCorpus(t *testing.T) {
	platformtest.RequireCorpus(t)
	rows := readmeRows(t)
	// found: "corpus-relative file:line" -> args, from every entry that parsed.
	found := map[string][]string{}
	reached := map[string]bool{}
	failed := map[string]string{}
	parsed := 0
	for _, e := range corpusEntries(t) {
		fsys := mountFS{dir: filepath.Join(corpusDir(), e.dir), extra: fstest.MapFS{}}
		if !exists(e.dir, "proxy_params") {
			fsys.extra["etc/nginx/proxy_params"] = &fstest.MapFile{Data: []byte(proxyParams)}
		}
		main := path.Join(mount, e.main)
		// A fragment (server blocks, http-level snippets; some app
		// folders' nginx.conf too) is audited as nginx would load it:
		// included from http {}.
		if !topBlocks(fsys, path.Join(mount, e.main)) {
			{
				fsys.extra["etc/nginx/.tlsfloor-main.conf"] = &fstest.MapFile{Data: []byte("http {\n    include " + e.main + ";\n}\n")}
				main = path.Join(mount, ".tlsfloor-main.conf")
			}
		}
		env := &audit.Env{
			FS: fsys, Runner: &platformtest.Runner{}, Getenv: func(string) string { return "" },
			Now: testEnv("", nil, audit.Options{}).Now, Policy: audit.DefaultPolicy(),
			Options: audit.Options{Root: "/corpus", NginxConf: main, NginxVersion: "1.22.1"},
		}
		a, err := Analyze(context.Background(), env)
		if err != nil {
			msg := err.Error()
			if !audit.IsConfigError(err) || !reConfigErr.MatchString(msg) || strings.Contains(msg, "\n") {
				t.Errorf("%s: error is not a one-line path:line config error: %T %q", e, err, msg)
			}
			failed[e.String()] = msg
			continue
		}
		parsed++
		rel := func(f string) string { return path.Join(e.dir, strings.TrimPrefix(f, mount+"/")) }
		for _, f := range a.Files {
			reached[rel(f)] = true
		}
		for _, d := range a.Directives {
			found[rel(d.File)+":"+strconv.Itoa(d.Line)] = d.Args
		}
	}
	t.Logf("corpus: %d entry points parsed, %d failed", parsed, len(failed))
	for e, msg := range failed {
		t.Logf("  failed: %s: %s", e, msg)
	}
	for _, f := range mustFail {
		if _, ok := failed[f]; !ok {
			t.Errorf("%s is deliberately broken but was accepted", f)
		}
	}
	for _, f := range mustParse {
		if msg, ok := failed[f]; ok {
			t.Errorf("%s is valid but failed: %s", f, msg)
		}
	}
	listed := map[string]bool{}
	for _, r := range rows {
		key := r.file + ":" + strconv.Itoa(r.line)
		listed[key] = r.state == "active"
		args, ok := found[key]
		switch {
		case r.state != "active" && ok:
			t.Errorf("%s (%s) was reported as a directive %q", key, r.state, args)
		case r.state == "active" && reached[r.file] && !ok:
			t.Errorf("%s: active %s %q in a parsed file was not found", key, r.name, r.args)
		case r.state == "active" && ok && strings.Join(args, " ") != strings.Join(r.args, " "):
			t.Errorf("%s: args %q, README says %q", key, args, r.args)
		case r.state == "active" && !reached[r.file]:
			t.Logf("  not reachable from a parsed entry point: %s", key)
		}
	}
	// Nothing is found that the README's grep did not list.
	for key, args := range found {
		if !listed[key] {
			t.Errorf("%s: directive %q not in the README's list of active directives", key, args)
		}
	}
}

// topBlocks reports whether a standalone file is a whole config (has http,
// stream, mail or events at its top level) rather than a fragment.
func topBlocks(fsys mountFS, name string) bool {
	ds, err := ParseDirectives(fsys, name)
	if err != nil {
		return false
	}
	for _, d := range ds {
		if d.File == name && len(d.Block) == 0 && d.IsBlock {
			switch d.Name {
			case "http", "stream", "mail", "events":
				return true
			}
		}
	}
	return false
}
