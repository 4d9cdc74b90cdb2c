package apache

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// mapFS maps host path prefixes onto directories on disk, as the corpus
// README's "Entry points" table says (/etc/apache2 -> …/apache2/).
type mapFS struct {
	prefixes []string // longest first
	dirs     map[string]string
}

func newMapFS(m map[string]string) *mapFS {
	f := &mapFS{dirs: m}
	for p := range m {
		f.prefixes = append(f.prefixes, p)
	}
	sort.Slice(f.prefixes, func(i, j int) bool { return len(f.prefixes[i]) > len(f.prefixes[j]) })
	return f
}

func (f *mapFS) real(name string) string {
	name = path.Clean("/" + name)
	for _, p := range f.prefixes {
		if name == p || strings.HasPrefix(name, p+"/") {
			return filepath.Join(f.dirs[p], filepath.FromSlash(strings.TrimPrefix(name, p)))
		}
	}
	return filepath.Join("/nonexistent-corpus-root", filepath.FromSlash(name))
}

// host maps a disk path back to a host path ("" if outside every prefix).
func (f *mapFS) host(real string) string {
	for _, p := range f.prefixes {
		d := f.dirs[p]
		if real == d || strings.HasPrefix(real, d+"/") {
			return p + strings.TrimPrefix(real, d)
		}
	}
	return ""
}

// linkText follows a "symlink stored as a text file": this copy of the
// corpus has no symlinks, the README's 142 links are regular files holding
// the relative target ("../mods-available/ssl.conf"). Treat them as links
// so the Debian trees are read the way the README describes.
func linkText(real string) string {
	for hops := 0; hops < 8; hops++ {
		fi, err := os.Lstat(real)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 200 {
			return real
		}
		b, err := os.ReadFile(real)
		s := string(b)
		if err != nil || !strings.HasPrefix(s, "../") || strings.ContainsAny(s, " \n\t") {
			return real
		}
		target := filepath.Join(filepath.Dir(real), s)
		if _, err := os.Stat(target); err != nil {
			return real
		}
		real = target
	}
	return real
}

func (f *mapFS) ReadFile(name string) ([]byte, error)       { return os.ReadFile(linkText(f.real(name))) }
func (f *mapFS) Stat(name string) (fs.FileInfo, error)      { return os.Stat(linkText(f.real(name))) }
func (f *mapFS) Lstat(name string) (fs.FileInfo, error)     { return os.Lstat(f.real(name)) }
func (f *mapFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(f.real(name)) }
func (f *mapFS) Glob(pattern string) ([]string, error) {
	return nil, errors.New("mapFS: Glob is not used by the apache parser")
}
func (f *mapFS) EvalSymlinks(name string) (string, error) {
	r, err := filepath.EvalSymlinks(linkText(f.real(name)))
	if err != nil {
		return "", err
	}
	if h := f.host(r); h != "" {
		return h, nil
	}
	return r, nil
}

// corpusRow is one active SSLProtocol/SSLProxyProtocol line in the corpus
// README's table.
type corpusRow struct{ file, line, name, args string }

func readCorpusRows(t *testing.T) []corpusRow {
	f, err := os.Open(filepath.Join(corpusDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile("^\\| ([^ |]+):(\\d+) \\| active \\| `(SSLProtocol|SSLProxyProtocol)` \\| `([^`]*)` \\|")
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			rows = append(rows, corpusRow{m[1], m[2], m[3], m[4]})
		}
	}
	return rows
}

// corpusTree is one parse: host prefixes -> corpus folders, main, defines.
type corpusTree struct {
	name    string
	mapping map[string]string // host prefix -> corpus-relative folder
	main    string
	defines map[string]string
	wantErr string // substring of the expected error; "" = must parse
}

func corpusTrees(t *testing.T) []corpusTree {
	var trees []corpusTree
	for _, v := range []string{"augeas_vhosts", "default_vhost", "multi_vhosts", "multiple_vhosts"} {
		trees = append(trees, corpusTree{name: "debian-" + v,
			mapping: map[string]string{"/etc/apache2": "certbot-apache-testdata/debian_apache_2_4/" + v + "/apache2"},
			main:    "/etc/apache2/apache2.conf"})
	}
	for _, v := range []string{"simple_vhost", "two_vhost_80", "vhost_with_tls"} {
		trees = append(trees, corpusTree{name: "compat-" + v,
			mapping: map[string]string{"/etc/apache2": "certbot-compat-apache/" + v + "/apache2"},
			main:    "/etc/apache2/apache2.conf"})
	}
	trees = append(trees,
		corpusTree{name: "centos7", mapping: map[string]string{"/etc/httpd": "certbot-apache-testdata/centos7_apache/apache/httpd"},
			main: "/etc/httpd/conf/httpd.conf", defines: map[string]string{"mock_define": "", "mock_define_too": "", "mock_value": "TRUE", "MOCK_NOSEP": "", "NOSEP_TWO": "NOSEP_VAL"}},
		corpusTree{name: "gentoo", mapping: map[string]string{"/etc/apache2": "certbot-apache-testdata/gentoo_apache/apache/apache2",
			"/usr/lib64/apache2": "certbot-apache-testdata/gentoo_apache/apache/apache2"},
			main: "/etc/apache2/httpd.conf", defines: map[string]string{"DEFAULT_VHOST": "", "INFO": "", "SSL": "", "SSL_DEFAULT_VHOST": "", "LANGUAGE": ""}},
		corpusTree{name: "complex_parsing", mapping: map[string]string{"/etc/apache2": "certbot-apache-testdata/complex_parsing"},
			main: "/etc/apache2/apache2.conf"},
		corpusTree{name: "h5bp", mapping: map[string]string{"/usr/local/apache2": "h5bp-server-configs-apache"},
			main: "/usr/local/apache2/httpd.conf"},
		corpusTree{name: "httpd-docs", mapping: map[string]string{"/usr/local/apache2": "apache-httpd-docs-conf"},
			main: "/usr/local/apache2/httpd.conf.in"},
		corpusTree{name: "httpd-docs-ssl", mapping: map[string]string{"/usr/local/apache2": "apache-httpd-docs-conf"},
			main: "/usr/local/apache2/extra/httpd-ssl.conf.in"},
	)
	// Standalone files.
	for _, dir := range []string{"h5bp-server-configs-apache/h5bp/tls", "apache-httpd-tests-conf", "certbot-apache-conf-files", "certbot-tls-configs/apache",
		"gitlab-recipes-webserver/web-server/apache", "mozilla-ssl-config-generator/apache", "mozilla-ssl-config-generator/oraclehttp"} {
		err := filepath.WalkDir(filepath.Join(corpusDir, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if b := d.Name(); b == "LICENSE" || b == "SOURCE.txt" || b == "NOTICE" || strings.HasSuffix(b, ".md") {
				return nil
			}
			rel, _ := filepath.Rel(corpusDir, p)
			tr := corpusTree{name: rel, mapping: map[string]string{"/cfg": filepath.Dir(rel)}, main: "/cfg/" + d.Name()}
			if strings.HasPrefix(d.Name(), "finalize-1243.") {
				// Includes ports.conf and /etc/letsencrypt/... which are not
				// in the corpus: httpd would refuse to start too.
				tr.wantErr = "could not open"
			}
			if d.Name() == "two-blocks-one-line-1693.conf" {
				// `</VirtualHost> </IfModule>`: httpd ignores the second tag,
				// and with mod_ssl absent it reports the <IfModule> unclosed.
				tr.wantErr = "<IfModule> was not closed"
			}
			trees = append(trees, tr)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return trees
}

func TestCorpus(t *testing.T) {
	platformtest.RequireCorpus(t)
	rows := readCorpusRows(t)
	if len(rows) < 30 {
		t.Fatalf("read only %d rows from the corpus README", len(rows))
	}
	found := map[string]bool{}   // "rel:line" of rows found
	active := map[string]bool{}  // "rel:line" of directives httpd reads
	readAny := map[string]bool{} // corpus-relative files read by some parse
	for _, tr := range corpusTrees(t) {
		abs := map[string]string{}
		for p, rel := range tr.mapping {
			abs[p] = filepath.Join(corpusDir, rel)
		}
		fsys := newMapFS(abs)
		cfg, err := Parse(fsys, tr.main, ParseOptions{Defines: tr.defines, Version: sv("2.4.62")})
		if tr.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tr.wantErr) {
				t.Errorf("%s: err = %v, want %q", tr.name, err, tr.wantErr)
			}
			continue
		}
		if err != nil {
			var ce *audit.ConfigError
			if !errors.As(err, &ce) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: unclear error %T %q", tr.name, err, err)
			} else {
				t.Errorf("%s: %v", tr.name, err)
			}
			continue
		}
		rel := func(host string) string {
			if r, err := fsys.EvalSymlinks(host); err == nil {
				host = r // report the link target, as the README does
			}
			for p, r := range tr.mapping {
				if host == p || strings.HasPrefix(host, p+"/") {
					return path.Join(r, strings.TrimPrefix(host, p))
				}
			}
			return host
		}
		for _, f := range cfg.Files {
			readAny[rel(f)] = true
		}
		for _, d := range cfg.Directives {
			n := strings.ToLower(d.Name)
			if n != "sslprotocol" && n != "sslproxyprotocol" {
				continue
			}
			key := rel(d.File) + ":" + itoa(d.Line)
			for _, r := range rows {
				if r.file+":"+r.line == key {
					if r.name != d.Name || r.args != strings.Join(d.RawArgs, " ") {
						t.Errorf("%s: %s: got %s %q, README says %s %q", tr.name, key, d.Name, strings.Join(d.RawArgs, " "), r.name, r.args)
					}
					found[key] = true
					active[key] = active[key] || d.Active
				}
			}
		}
	}
	reachable := 0
	for _, r := range rows {
		key := r.file + ":" + r.line
		if readAny[r.file] {
			reachable++
			if !found[key] {
				t.Errorf("%s %s is in a file that was read but was not found", key, r.name)
			}
		}
	}
	// Unreachable rows are the Debian mods-available/ssl.conf copies that no
	// mods-enabled link points to, and the two-blocks file that fails.
	for _, r := range rows {
		if !readAny[r.file] && !strings.Contains(r.file, "mods-available/ssl.conf") && !strings.Contains(r.file, "two-blocks-one-line") {
			t.Errorf("%s:%s was never read", r.file, r.line)
		}
	}
	for _, key := range []string{
		"certbot-compat-apache/vhost_with_tls/apache2/mods-available/ssl.conf:73",                    // mod_ssl enabled
		"certbot-apache-testdata/gentoo_apache/apache/apache2/vhosts.d/00_default_ssl_vhost.conf:27", // four sections deep
		"certbot-apache-testdata/centos7_apache/apache/httpd/conf.d/ssl.conf:75",
	} {
		if !active[key] {
			t.Errorf("%s should be active (found=%v)", key, found[key])
		}
	}
	for _, key := range []string{
		"certbot-apache-testdata/debian_apache_2_4/default_vhost/apache2/mods-available/ssl.conf:77",
		"certbot-compat-apache/simple_vhost/apache2/mods-available/ssl.conf:73",
	} {
		if found[key] {
			t.Errorf("%s is not linked from mods-enabled and must not be read", key)
		}
	}
	t.Logf("%d README rows, %d in files read, all found", len(rows), reachable)
}
