package live

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/platform/probe"
)

// TestLiveAgainstRealNginx runs Debian's nginx (private config, pid and
// logs in a temp dir) with a legacy server at SECLEVEL=0 and one whose
// config says TLSv1 but OpenSSL 3 refuses it, then audits it with the real
// prober: the first must give live-legacy-accepted, the second live-differs.
func TestLiveAgainstRealNginx(t *testing.T) {
	bin := platformtest.RequireTool(t, "nginx")
	dir := t.TempDir()
	cert, key := platformtest.SelfSignedCert(t, dir)
	legacy, claims := platformtest.FreePort(t), platformtest.FreePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	body := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[2]s/b; proxy_temp_path %[2]s/p; fastcgi_temp_path %[2]s/f; uwsgi_temp_path %[2]s/u; scgi_temp_path %[2]s/s;
    ssl_certificate %[3]s;
    ssl_certificate_key %[4]s;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:%[5]d ssl;
        ssl_ciphers 'DEFAULT:@SECLEVEL=0';
    }
    server {
        listen 127.0.0.1:%[6]d ssl;
    }
}
`, user, dir, cert, key, legacy, claims)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	platformtest.Start(t, exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log")), os.Interrupt)
	for _, p := range []int{legacy, claims} {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		if !platformtest.Eventually(func() bool { return platformtest.Listening(addr) }, 10*time.Second) {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx does not listen on %d:\n%s", p, b)
		}
	}
	e := env()
	e.Options.NginxConf = conf
	e.Options.NginxVersion = "1.22.1"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := New(probe.New(probe.Options{}), NginxListeners).Scan(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	got := ids(res.Findings)
	want := []string{"live-differs/medium/TLSv1.0 TLSv1.1", "live-legacy-accepted/high/TLSv1.0 TLSv1.1"}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	for _, f := range res.Findings {
		wantLine := 13 // the legacy server block
		if f.ID == "live-differs" {
			wantLine = 17
		}
		if f.File != conf || f.Line != wantLine {
			t.Errorf("%s at %s:%d, want line %d", f.ID, f.File, f.Line, wantLine)
		}
	}
}
