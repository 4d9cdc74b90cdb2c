package fix

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/diff"
)

// reMissing finds the path in "cannot read included file X: no such file"
// (nginx) and "could not open X: no such file" (Apache).
var reMissing = regexp.MustCompile(`(?:cannot read included file|could not open) (/\S+): no such file`)

// Versions the corpus is fixed for: nginx before 1.23.4 (its default still
// enables TLS 1.0/1.1, so default contexts get an explicit line) and a
// current httpd.
const (
	corpusNginxVersion  = "1.22.1"
	corpusApacheVersion = "2.4.62"
)

// corpusCase is one tree of the corpus: which folder maps to which host
// directory, and the main config.
type corpusCase struct {
	name string
	// mounts maps host directories to corpus folders (copied with their
	// symlinks).
	mounts map[string]string
	// extra are files written on top (host path -> content), e.g. a main
	// config that includes a standalone fragment.
	extra       map[string]string
	nginxConf   string
	apacheConf  string
	apacheSetup bool
}

// corpusCases lists the trees of the corpus README's entry-point table and
// wraps every standalone fragment in a minimal main config.
func corpusCases(t testing.TB, root string) []corpusCase {
	cs := []corpusCase{
		{name: "certbot-nginx-testdata/etc_nginx", mounts: map[string]string{"/etc/nginx": "certbot-nginx-testdata/etc_nginx"}, nginxConf: "/etc/nginx/nginx.conf"},
		{name: "certbot-nginx-testdata/ubuntu_nginx_1_4_6", mounts: map[string]string{"/etc/nginx": "certbot-nginx-testdata/etc_nginx/ubuntu_nginx_1_4_6/default_vhost/nginx"}, nginxConf: "/etc/nginx/nginx.conf"},
		{name: "nginx-go-crossplane/ubuntu-default", mounts: map[string]string{"/etc/nginx": "nginx-go-crossplane/ubuntu-default"}, nginxConf: "/etc/nginx/nginx.conf"},
		{name: "h5bp-server-configs-nginx", mounts: map[string]string{"/etc/nginx": "h5bp-server-configs-nginx"}, nginxConf: "/etc/nginx/nginx.conf"},
		{name: "nginx-upstream-conf", mounts: map[string]string{"/etc/nginx": "nginx-upstream-conf"}, nginxConf: "/etc/nginx/nginx.conf"},
		{name: "certbot-apache-testdata/centos7_apache", mounts: map[string]string{"/etc/httpd": "certbot-apache-testdata/centos7_apache/apache/httpd"}, apacheConf: "/etc/httpd/conf/httpd.conf"},
		{name: "certbot-apache-testdata/complex_parsing", mounts: map[string]string{"/etc/apache2": "certbot-apache-testdata/complex_parsing"}, apacheConf: "/etc/apache2/apache2.conf"},
		{name: "certbot-apache-testdata/gentoo_apache", mounts: map[string]string{"/etc/apache2": "certbot-apache-testdata/gentoo_apache/apache/apache2", "/usr/lib64/apache2": "certbot-apache-testdata/gentoo_apache/apache/apache2"}, apacheConf: "/etc/apache2/httpd.conf"},
		{name: "h5bp-server-configs-apache", mounts: map[string]string{"/usr/local/apache2": "h5bp-server-configs-apache"}, apacheConf: "/usr/local/apache2/httpd.conf"},
	}
	for _, sub := range []string{"great-nginx-config/stuff", "lots/nginx", "site-10033/nginx", "site-14402/nginx"} {
		cs = append(cs, corpusCase{name: "certbot-compat-nginx/" + sub, mounts: map[string]string{"/etc/nginx": "certbot-compat-nginx/" + sub}, nginxConf: "/etc/nginx/nginx.conf"})
	}
	for _, sub := range []string{"augeas_vhosts", "default_vhost", "multi_vhosts", "multiple_vhosts"} {
		cs = append(cs, corpusCase{name: "certbot-apache-testdata/debian_apache_2_4/" + sub, mounts: map[string]string{"/etc/apache2": "certbot-apache-testdata/debian_apache_2_4/" + sub + "/apache2"}, apacheConf: "/etc/apache2/apache2.conf"})
	}
	for _, sub := range []string{"simple_vhost", "two_vhost_80", "vhost_with_tls"} {
		cs = append(cs, corpusCase{name: "certbot-compat-apache/" + sub, mounts: map[string]string{"/etc/apache2": "certbot-compat-apache/" + sub + "/apache2"}, apacheConf: "/etc/apache2/apache2.conf"})
	}
	// certbot-nginx-roundtrip: apps with an nginx.conf are trees.
	apps, _ := os.ReadDir(filepath.Join(root, "certbot-nginx-roundtrip"))
	for _, app := range apps {
		if !app.IsDir() || app.Name() == "79-configs" {
			continue
		}
		dir := "certbot-nginx-roundtrip/" + app.Name()
		if _, err := os.Stat(filepath.Join(root, dir, "nginx.conf")); err == nil {
			cs = append(cs, corpusCase{name: dir, mounts: map[string]string{"/etc/nginx": dir}, nginxConf: "/etc/nginx/nginx.conf"})
		}
	}
	// Standalone nginx fragments (server blocks or http-level settings):
	// included from a minimal http block.
	for _, dir := range []string{"certbot-tls-configs/nginx", "gitlab-recipes-webserver/web-server/nginx", "mozilla-ssl-config-generator/nginx", "certbot-nginx-roundtrip/79-configs"} {
		files, _ := os.ReadDir(filepath.Join(root, dir))
		for _, f := range files {
			if f.IsDir() {
				continue
			}
			// Mozilla's files bring their own http block.
			wrapper := "events {}\nhttp {\n    include /etc/nginx/site;\n}\n"
			if b, _ := os.ReadFile(filepath.Join(root, dir, f.Name())); regexp.MustCompile(`(?m)^http\s*\{`).Match(b) {
				wrapper = "events {}\ninclude /etc/nginx/site;\n"
			}
			cs = append(cs, corpusCase{
				name:      dir + "/" + f.Name(),
				mounts:    map[string]string{"/etc/nginx/site": dir + "/" + f.Name()},
				extra:     map[string]string{"/etc/nginx/nginx.conf": wrapper},
				nginxConf: "/etc/nginx/nginx.conf",
			})
		}
	}
	// Standalone Apache vhosts and snippets: included after mod_ssl is
	// loaded.
	for _, dir := range []string{"certbot-tls-configs/apache", "gitlab-recipes-webserver/web-server/apache", "mozilla-ssl-config-generator/apache", "certbot-apache-conf-files/passing", "apache-httpd-docs-conf/extra"} {
		files, _ := os.ReadDir(filepath.Join(root, dir))
		for _, f := range files {
			if f.IsDir() || (dir == "apache-httpd-docs-conf/extra" && f.Name() != "httpd-ssl.conf.in") {
				continue
			}
			cs = append(cs, corpusCase{
				name:       dir + "/" + f.Name(),
				mounts:     map[string]string{"/etc/httpd/conf.d/site.conf": dir + "/" + f.Name()},
				extra:      map[string]string{"/etc/httpd/conf/httpd.conf": "ServerRoot /etc/httpd\nLoadModule ssl_module modules/mod_ssl.so\nListen 443\nInclude conf.d/site.conf\n"},
				apacheConf: "/etc/httpd/conf/httpd.conf",
			})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	return cs
}

// copyTree copies src (a file or directory, symlinks kept as links) to dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case de.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case de.IsDir():
			return os.MkdirAll(target, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// corpusEnv is an audit environment over root: the nginx version by flag,
// httpd's from a scripted apachectl -V.
func corpusEnv(root string, c corpusCase) *audit.Env {
	runner := &platformtest.Runner{Script: map[string]platform.Output{
		"/fake/apachectl -V": {Stdout: []byte("Server version: Apache/" + corpusApacheVersion + " (Unix)\n")},
	}}
	opts := audit.Options{Root: root, NginxConf: c.nginxConf, ApacheConf: c.apacheConf}
	if c.nginxConf != "" {
		opts.NginxVersion = corpusNginxVersion
	}
	if c.apacheConf != "" {
		opts.ApacheBin = "/fake/apachectl"
	}
	return &audit.Env{
		FS: platform.NewOSFS(root), Runner: runner, Getenv: func(string) string { return "" },
		Now:     func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
		Policy:  audit.Policy{MinProtocol: audit.TLS12, FailOn: audit.Medium},
		Options: opts,
	}
}

func treeSnapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.Type()&fs.ModeSymlink != 0 {
			l, err := os.Readlink(p)
			out[p] = "link:" + l
			return err
		}
		if de.Type().IsRegular() {
			b, err := os.ReadFile(p)
			out[p] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// legacyLeft audits root again and returns the legacy findings left.
func legacyLeft(t testing.TB, env *audit.Env) []audit.Finding {
	t.Helper()
	var fs []audit.Finding
	if env.Options.NginxConf != "" {
		a, err := nginx.Analyze(context.Background(), env)
		if err != nil {
			t.Fatalf("audit after fix: %v", err)
		}
		fs = append(fs, a.Findings...)
	}
	if env.Options.ApacheConf != "" {
		a, err := apache.Analyze(context.Background(), env)
		if err != nil {
			t.Fatalf("audit after fix: %v", err)
		}
		fs = append(fs, a.Findings...)
	}
	var out []audit.Finding
	for _, f := range fs {
		if f.ID == audit.RuleLegacyEnabled || f.ID == audit.RuleLegacyDefault || f.ID == audit.RuleDirectiveNoEffect {
			out = append(out, f)
		}
	}
	return out
}

// TestCorpusGolden fixes every tree of the real-world corpus that has
// legacy protocols: plan, compare the diff with testdata/fix/<tree>.diff,
// apply, audit again (no legacy findings), plan again (nothing to change),
// restore (byte-identical tree, links included). Trees that cannot be read
// with certainty must be refused with a path:line error, recorded in the
// golden file too.
func TestCorpusGolden(t *testing.T) {
	croot := platformtest.RequireCorpus(t)
	changed := 0
	for _, c := range corpusCases(t, croot) {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for host, dir := range c.mounts {
				copyTree(t, filepath.Join(croot, dir), filepath.Join(root, filepath.FromSlash(host)))
			}
			for host, content := range c.extra {
				p := filepath.Join(root, filepath.FromSlash(host))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// Some corpus trees include files that were not published
			// (README: "Some non-glob includes point at files that are not
			// in the trees"); real nginx and httpd refuse such a config.
			// Stand in an empty file for each and say so in the golden.
			var got bytes.Buffer
			var plan *remediate.Plan
			var err error
			for range 20 {
				plan, err = PlanFiles(context.Background(), corpusEnv(root, c), remediate.DefaultPolicy(), nil)
				m := reMissing.FindStringSubmatch(fmt.Sprint(err))
				if err == nil || m == nil {
					break
				}
				p := filepath.Join(root, filepath.FromSlash(m[1]))
				if _, serr := os.Stat(p); serr == nil {
					break
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&got, "# missing include created empty: %s\n", m[1])
			}
			orig := treeSnapshot(t, root)
			switch {
			case err != nil:
				if !audit.IsConfigError(err) {
					t.Fatalf("unexpected error (want a ConfigError or a plan): %v", err)
				}
				fmt.Fprintf(&got, "error: %v\n", err)
			case plan.Empty():
				// Nothing to change: no golden file (unless includes were
				// stood in for).
				if strings.HasPrefix(got.String(), "# missing") {
					got.Reset()
				}
			default:
				d, err := diff.Plan(plan)
				if err != nil {
					t.Fatal(err)
				}
				got.Write(d)
				for _, n := range plan.Notes {
					fmt.Fprintf(&got, "# note: %s\n", n)
				}
			}
			golden := filepath.Join("..", "..", "testdata", "fix", strings.ReplaceAll(c.name, "/", "__")+".diff")
			if *platformtest.Update {
				if got.Len() == 0 {
					_ = os.Remove(golden)
				} else {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				want, rerr := os.ReadFile(golden)
				if rerr != nil && got.Len() > 0 {
					t.Fatalf("no golden file %s (run go test -update):\n%s", golden, got.Bytes())
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("diff differs from %s (go test -update rewrites it):\n%s", golden, diff.File(golden, want, got.Bytes()))
				}
			}
			if err != nil || plan.Empty() {
				return
			}
			changed++
			// Apply with plain writes to the real targets; links stay links.
			for _, fc := range plan.Files {
				after, err := fc.After()
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(fc.RealPath)), after, fc.Mode.Perm()); err != nil {
					t.Fatal(err)
				}
			}
			if left := legacyLeft(t, corpusEnv(root, c)); len(left) > 0 {
				t.Errorf("legacy findings after the fix: %+v", left)
			}
			again, err := PlanFiles(context.Background(), corpusEnv(root, c), remediate.DefaultPolicy(), nil)
			if err != nil {
				t.Fatalf("plan after the fix: %v", err)
			}
			if !again.Empty() {
				t.Errorf("second plan not empty: %d files", len(again.Files))
			}
			for _, fc := range plan.Files {
				if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(fc.RealPath)), fc.Before, fc.Mode.Perm()); err != nil {
					t.Fatal(err)
				}
			}
			after := treeSnapshot(t, root)
			if len(after) != len(orig) {
				t.Fatalf("restore: %d entries, want %d", len(after), len(orig))
			}
			for k, v := range orig {
				if after[k] != v {
					t.Errorf("restore: %s differs", k)
				}
			}
		})
	}
	if changed < 10 {
		t.Errorf("only %d corpus trees needed a fix; the corpus has many more with legacy protocols", changed)
	}
}
