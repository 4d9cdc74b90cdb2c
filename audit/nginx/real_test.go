package nginx

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// stockDirective is an ssl_protocols line read straight from a config
// file, independently of crossplane.
type stockDirective struct {
	line   int
	tokens []string
}

var reStockProtocols = regexp.MustCompile(`^\s*ssl_protocols\s+([^;]+);`)

func grepProtocols(t *testing.T, path string) []stockDirective {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []stockDirective
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if m := reStockProtocols.FindStringSubmatch(sc.Text()); m != nil {
			out = append(out, stockDirective{line: n, tokens: strings.Fields(m[1])})
		}
	}
	return out
}

// TestRealNginxStock audits the installed nginx (Debian's package and its
// stock /etc/nginx) end to end: nginx -V through the real runner, the real
// file system, the linked OpenSSL. The expected findings come from reading
// the stock nginx.conf here with a plain line scan.
func TestRealNginxStock(t *testing.T) {
	bin := platformtest.RequireTool(t, "nginx")
	const stock = "/etc/nginx/nginx.conf"
	_, err := os.Stat(stock)
	platformtest.Require(t, err == nil, fmt.Sprintf("nginx is installed but has no stock config: %v", err))
	out, _ := exec.Command(bin, "-v").CombinedOutput()
	m := regexp.MustCompile(`nginx/(\d+\.\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("nginx -v printed %q", out)
	}
	wantVersion := string(m[1])

	env := &audit.Env{
		FS: platform.NewOSFS("/"), Runner: platform.ExecRunner{Timeout: 20 * time.Second},
		Getenv: os.Getenv, Now: time.Now, Policy: audit.DefaultPolicy(),
		Options: audit.Options{NginxBin: bin},
	}
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Found || a.Main != stock || a.Version.String() != wantVersion || a.VersionAssumed {
		t.Fatalf("found %v main %q version %v (want %s from nginx -v)", a.Found, a.Main, a.Version, wantVersion)
	}
	if !a.Library.Known() {
		t.Errorf("library unknown; notes %q", a.Component.Notes)
	}

	// Every ssl_protocols line of nginx.conf that enables legacy
	// protocols gives one legacy-protocol-enabled finding at that line.
	want := map[int]audit.ProtocolSet{}
	for _, d := range grepProtocols(t, stock) {
		var s audit.ProtocolSet
		for _, tok := range d.tokens {
			p, ok := nginxToken(tok)
			if !ok {
				t.Fatalf("%s:%d: token %q", stock, d.line, tok)
			}
			s = s.With(p)
		}
		if l := s.Below(audit.TLS12); !l.Empty() {
			want[d.line] = l
		}
	}
	got := map[int]audit.ProtocolSet{}
	for _, f := range a.Findings {
		if f.ID == audit.RuleLegacyEnabled && f.File == stock {
			got[f.Line] = f.Protocols
			// OpenSSL 3 refuses TLS 1.0/1.1 unless a cipher string says
			// @SECLEVEL=0; the stock config has none.
			if a.Library.SecurityLevelBlocksLegacy() && f.Severity != audit.Medium {
				t.Errorf("%s:%d severity %v with %s, want medium", f.File, f.Line, f.Severity, a.Library)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("legacy-protocol-enabled in %s: got %v, want %v (from the file)", stock, got, want)
	}
	t.Logf("nginx %s, %s, %d files, %d TLS contexts, findings: %v", a.Version, a.Library, len(a.Files), len(a.Servers), summary(a.Findings))
}

// TestRealSNICaveat checks the default-server rule against a real nginx:
// two servers on one 127.0.0.1 port, the default allowing only TLS 1.2,
// the other only TLS 1.3. The audit says the second server's directive has
// no effect and its effective set is TLS 1.2 (nginx < 1.29.2); a real
// handshake with SNI for the second server must agree.
func TestRealSNICaveat(t *testing.T) {
	bin := platformtest.RequireTool(t, "nginx")
	osl := platformtest.RequireTool(t, "openssl")
	dir := t.TempDir()
	port, port2 := platformtest.FreePort(t), platformtest.FreePort(t)
	for port2 == port {
		port2 = platformtest.FreePort(t)
	}
	platformtest.SelfSignedCert(t, dir) // dir/cert.pem, dir/key.pem
	confPath := filepath.Join(dir, "nginx.conf")
	conf := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    ssl_certificate %[1]s/cert.pem;
    ssl_certificate_key %[1]s/key.pem;
    server {
        listen 127.0.0.1:%[2]d ssl default_server;
        server_name a.test;
        ssl_protocols TLSv1.2;
        return 200 "a\n";
    }
    server {
        listen 127.0.0.1:%[2]d ssl;
        server_name b.test;
        ssl_protocols TLSv1.3;
        return 200 "b\n";
    }
    server {
        listen 127.0.0.1:%[3]d ssl;
        server_name c.test;
        return 200 "c\n";
    }
}
`, dir, port, port2)
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	env := &audit.Env{
		FS: platform.NewOSFS("/"), Runner: platform.ExecRunner{Timeout: 20 * time.Second},
		Getenv: os.Getenv, Now: time.Now, Policy: audit.DefaultPolicy(),
		Options: audit.Options{NginxBin: bin, NginxConf: confPath},
	}
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if a.SNIPerServer {
		t.Skipf("nginx %s with %s selects protocols per server; this test pins the older behaviour", a.Version, a.Library)
	}
	if len(a.Servers) != 3 || a.Servers[1].Effective != audit.Set(audit.TLS12) || a.Servers[2].Source != audit.SourceDefault {
		t.Fatalf("servers %+v", a.Servers)
	}
	noEffect := false
	for _, f := range a.Findings {
		if f.ID == audit.RuleDirectiveNoEffect && f.Line == 23 {
			noEffect = true
		}
	}
	if !noEffect {
		t.Errorf("no directive-no-effect at nginx.conf:23: %v", summary(a.Findings))
	}

	cmd := exec.Command(bin, "-c", confPath, "-p", dir, "-g", "daemon off;")
	cmd.Stderr = os.Stderr
	platformtest.Start(t, cmd, os.Interrupt)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !platformtest.Eventually(func() bool { return platformtest.Listening(addr) }, 5*time.Second) {
		t.Fatalf("nginx did not listen on %s", addr)
	}
	handshake := func(addr, name, flag string) bool {
		c := exec.Command(osl, "s_client", "-connect", addr, "-servername", name, flag)
		c.Stdin = strings.NewReader("")
		out, _ := c.CombinedOutput()
		return regexp.MustCompile(`Protocol\s*:\s*TLSv1\.[23]|New, TLSv1\.[23]`).Match(out) && !strings.Contains(string(out), "alert")
	}
	// What the audit reported must be what b.test (decided by the default
	// server) and c.test (the built-in default of this nginx) really
	// negotiate.
	addr2 := fmt.Sprintf("127.0.0.1:%d", port2)
	for _, p := range []audit.Protocol{audit.TLS12, audit.TLS13} {
		flag := map[audit.Protocol]string{audit.TLS12: "-tls1_2", audit.TLS13: "-tls1_3"}[p]
		if got, want := handshake(addr, "b.test", flag), a.Servers[1].Effective.Has(p); got != want {
			t.Errorf("SNI b.test %s handshake: got %v, audit's effective set %v says %v", p, got, a.Servers[1].Effective, want)
		}
		if got, want := handshake(addr2, "c.test", flag), a.Servers[2].Effective.Has(p); got != want {
			t.Errorf("c.test %s handshake: got %v, audit's default set %v says %v", p, got, a.Servers[2].Effective, want)
		}
	}
}

// TestRealNginxIncludeOrder compares the files the audit parses with the
// files nginx itself reads (nginx -T dumps each once, in the order it opens
// them): relative includes against the main file's directory, sorted
// globs, dotfiles skipped, a file included twice read once, symlinks.
func TestRealNginxIncludeOrder(t *testing.T) {
	bin := platformtest.RequireTool(t, "nginx")
	dir := t.TempDir()
	files := map[string]string{
		"nginx.conf": fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include conf.d/*.conf;
    include empty.d/*.conf;
    include sites-enabled/*;
}
`, dir),
		"conf.d/b.conf":             "ssl_protocols TLSv1.2;\n",
		"conf.d/a.conf":             "include snippets/x.conf;\n",
		"conf.d/.hidden.conf":       "this would not parse {\n",
		"conf.d/c.conf.bak":         "neither would this {\n",
		"snippets/x.conf":           "server_tokens off;\n",
		"sites-available/one":       "server { listen 127.0.0.1:1; include snippets/x.conf; }\n",
		"sites-available/two":       "server { listen 127.0.0.1:2; }\n",
		"sites-enabled/placeholder": "",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	mustSymlink(t, filepath.Join(dir, "sites-available/one"), filepath.Join(dir, "sites-enabled/one"))
	mustSymlink(t, "../sites-available/two", filepath.Join(dir, "sites-enabled/two"))

	main := filepath.Join(dir, "nginx.conf")
	out, err := exec.Command(bin, "-T", "-q", "-c", main, "-p", dir).Output()
	if err != nil {
		t.Fatalf("nginx -T: %v", err)
	}
	var want []string
	for _, m := range regexp.MustCompile(`(?m)^# configuration file (.*):$`).FindAllStringSubmatch(string(out), -1) {
		want = append(want, m[1])
	}
	env := &audit.Env{
		FS: platform.NewOSFS("/"), Runner: platform.ExecRunner{Timeout: 20 * time.Second},
		Getenv: os.Getenv, Now: time.Now, Policy: audit.DefaultPolicy(),
		Options: audit.Options{NginxBin: bin, NginxConf: main},
	}
	a, err := Analyze(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("nginx -T read %d files: %q", len(want), want)
	if strings.Join(a.Files, "\n") != strings.Join(want, "\n") {
		t.Errorf("files parsed:\n%s\nnginx -T read:\n%s", strings.Join(a.Files, "\n"), strings.Join(want, "\n"))
	}
}
