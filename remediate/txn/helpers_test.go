//go:build unix

package txn

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

const (
	legacy = "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;"
	fixed  = "ssl_protocols TLSv1.2 TLSv1.3;"
)

// tree is a rooted config tree: nginx.conf, conf.d/a.conf, and
// sites-enabled/site.conf as a symlink to sites-available/site.conf.
type tree struct {
	root   string
	backup string
	fs     *platform.OSWriter
	files  []string // host paths planned
	orig   map[string][]byte
}

func newTree(t testing.TB, n int) *tree {
	t.Helper()
	root := t.TempDir()
	tr := &tree{root: root, backup: filepath.Join(t.TempDir(), "backups"), fs: platform.NewOSWriter(root), orig: map[string][]byte{}}
	write := func(host, content string, mode os.FileMode) {
		p := filepath.Join(root, host)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		tr.orig[host] = []byte(content)
	}
	write("/etc/nginx/nginx.conf", "# main\r\nhttp {\r\n\t"+legacy+" # keep me\r\n\tinclude conf.d/*.conf;\r\n}\r\n", 0o644)
	tr.files = append(tr.files, "/etc/nginx/nginx.conf")
	write("/etc/nginx/sites-available/site.conf", "server {\n    listen 443 ssl;\n    "+legacy+"\n}\n", 0o640)
	if err := os.MkdirAll(filepath.Join(root, "etc/nginx/sites-enabled"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../sites-available/site.conf", filepath.Join(root, "etc/nginx/sites-enabled/site.conf")); err != nil {
		t.Fatal(err)
	}
	tr.files = append(tr.files, "/etc/nginx/sites-enabled/site.conf")
	for i := 2; i < n; i++ {
		host := "/etc/nginx/conf.d/" + string(rune('a'+i-2)) + ".conf"
		write(host, "server {\n  "+legacy+"\n  # file "+host+"\n}\n", 0o600)
		tr.files = append(tr.files, host)
	}
	return tr
}

// plan builds the plan a planner would: every legacy directive replaced.
func (tr *tree) plan(t testing.TB) *remediate.Plan {
	t.Helper()
	p := &remediate.Plan{}
	for _, host := range tr.files {
		real, err := tr.fs.EvalSymlinks(host)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tr.fs.ReadFile(real)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := tr.fs.Lstat(real)
		if err != nil {
			t.Fatal(err)
		}
		fc := remediate.NewFileChange(host, real, b, fi.Mode())
		i := bytes.Index(b, []byte(legacy))
		if i < 0 {
			t.Fatalf("%s: no legacy directive", host)
		}
		fc.Edits = []remediate.Edit{{Start: i, End: i + len(legacy), New: fixed, Line: 1 + bytes.Count(b[:i], []byte("\n"))}}
		p.Files = append(p.Files, fc)
	}
	p.Servers = []remediate.Server{{Kind: "nginx", Main: "/etc/nginx/nginx.conf", Binary: "nginx", TestArgv: []string{"nginx", "-t", "-c", "/etc/nginx/nginx.conf"}}}
	return p
}

func (tr *tree) read(t testing.TB, host string) []byte {
	t.Helper()
	b, err := os.ReadFile(tr.fs.Real(host))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertOriginal checks every planned file has its original bytes and the
// symlink is still a link.
func (tr *tree) assertOriginal(t testing.TB) {
	t.Helper()
	for _, host := range tr.files {
		real, _ := tr.fs.EvalSymlinks(host)
		if got := tr.read(t, real); !bytes.Equal(got, tr.orig[real]) {
			t.Errorf("%s: not restored:\n%q\nwant\n%q", host, got, tr.orig[real])
		}
	}
	tr.assertLink(t)
}

func (tr *tree) assertLink(t testing.TB) {
	t.Helper()
	fi, err := os.Lstat(tr.fs.Real("/etc/nginx/sites-enabled/site.conf"))
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("sites-enabled/site.conf is no longer a symlink (%v)", err)
	}
}

func (tr *tree) assertFixed(t testing.TB) {
	t.Helper()
	for _, host := range tr.files {
		real, _ := tr.fs.EvalSymlinks(host)
		want := bytes.Replace(tr.orig[real], []byte(legacy), []byte(fixed), 1)
		if got := tr.read(t, real); !bytes.Equal(got, want) {
			t.Errorf("%s: got\n%q\nwant\n%q", host, got, want)
		}
	}
	tr.assertLink(t)
}

// okRunner answers the nginx config test with success.
func okRunner() *platformtest.Runner {
	return &platformtest.Runner{Script: map[string]platform.Output{
		"nginx -t -c /etc/nginx/nginx.conf": {Stderr: []byte("nginx: configuration file /etc/nginx/nginx.conf test is successful\n")},
	}}
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

func tempFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), ".tlsfloor-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// plan2 plans replacing from with to in every file (a second fix).
func (tr *tree) plan2(t testing.TB, from, to string) *remediate.Plan {
	t.Helper()
	p := &remediate.Plan{}
	for _, host := range tr.files {
		real, _ := tr.fs.EvalSymlinks(host)
		b := tr.read(t, real)
		fc := remediate.NewFileChange(host, real, b, 0)
		i := bytes.Index(b, []byte(from))
		if i < 0 {
			t.Fatalf("%s: %q not found", host, from)
		}
		fc.Edits = []remediate.Edit{{Start: i, End: i + len(from), New: to}}
		p.Files = append(p.Files, fc)
	}
	return p
}
