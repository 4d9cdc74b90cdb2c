package fix

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/audit/nginx"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/diff"
)

// The benchmark trees: 10,000 TLS sites in 1,000 files, for nginx and for
// Apache. An http-level (server-wide) legacy line, and a third of the sites
// with their own legacy line, so the fix touches the main file and a third
// of the site files; the rest of the files are read and left alone.
const (
	benchFiles   = 1000
	benchPerFile = 10
)

func writeBenchNginx(tb testing.TB, root string) {
	tb.Helper()
	etc := filepath.Join(root, "etc/nginx")
	if err := os.MkdirAll(filepath.Join(etc, "sites"), 0o755); err != nil {
		tb.Fatal(err)
	}
	mainConf := "events {}\nhttp {\n    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n    include /etc/nginx/sites/*.conf;\n}\n"
	if err := os.WriteFile(filepath.Join(etc, "nginx.conf"), []byte(mainConf), 0o644); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for f := 0; f < benchFiles; f++ {
		var b strings.Builder
		for s := 0; s < benchPerFile; s++ {
			fmt.Fprintf(&b, "server {\n    listen 127.0.0.1:%d ssl;\n    server_name s%d.example.test;\n", 20000+n%100, n)
			if n%3 == 0 && s == 0 {
				b.WriteString("    ssl_protocols TLSv1 TLSv1.1 TLSv1.2; # old clients\n")
			}
			b.WriteString("    location / {\n        root /var/www;\n    }\n}\n")
			n++
		}
		if err := os.WriteFile(filepath.Join(etc, "sites", fmt.Sprintf("site%04d.conf", f)), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func writeBenchApache(tb testing.TB, root string) {
	tb.Helper()
	etc := filepath.Join(root, "etc/httpd")
	if err := os.MkdirAll(filepath.Join(etc, "conf.d"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(etc, "conf"), 0o755); err != nil {
		tb.Fatal(err)
	}
	mainConf := "ServerRoot /etc/httpd\nLoadModule ssl_module modules/mod_ssl.so\n<IfModule ssl_module>\n    SSLProtocol all -SSLv3\n</IfModule>\nIncludeOptional conf.d/*.conf\n"
	if err := os.WriteFile(filepath.Join(etc, "conf/httpd.conf"), []byte(mainConf), 0o644); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for f := 0; f < benchFiles; f++ {
		var b strings.Builder
		for s := 0; s < benchPerFile; s++ {
			fmt.Fprintf(&b, "<VirtualHost 127.0.0.1:%d>\n    ServerName s%d.example.test\n    SSLEngine on\n", 20000+n%100, n)
			if n%3 == 0 && s == 0 {
				b.WriteString("    SSLProtocol all -SSLv3 -TLSv1\n")
			}
			b.WriteString("    DocumentRoot /var/www\n</VirtualHost>\n")
			n++
		}
		if err := os.WriteFile(filepath.Join(etc, "conf.d", fmt.Sprintf("site%04d.conf", f)), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func benchEnv(b *testing.B, kind string) *audit.Env {
	b.Helper()
	root := b.TempDir()
	c := corpusCase{}
	if kind == "nginx" {
		writeBenchNginx(b, root)
		c.nginxConf = "/etc/nginx/nginx.conf"
	} else {
		writeBenchApache(b, root)
		c.apacheConf = "/etc/httpd/conf/httpd.conf"
	}
	return corpusEnv(root, c)
}

// benchAudit is the anchor: the audit of the same tree.
func benchAudit(b *testing.B, kind string) {
	env := benchEnv(b, kind)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		var err error
		if kind == "nginx" {
			_, err = nginx.Analyze(ctx, env)
		} else {
			_, err = apache.Analyze(ctx, env)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchPlan is the fix up to its diff: audit, plan, locate, edit, parse
// the edited tree again and check it, render the diff.
func benchPlan(b *testing.B, kind string) {
	env := benchEnv(b, kind)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		p, err := PlanFiles(ctx, env, remediate.DefaultPolicy(), nil)
		if err != nil {
			b.Fatal(err)
		}
		d, err := diff.Plan(p)
		if err != nil || len(d) == 0 {
			b.Fatalf("diff: %v (%d bytes)", err, len(d))
		}
	}
}

func BenchmarkAuditNginx(b *testing.B)   { benchAudit(b, "nginx") }
func BenchmarkFixPlanNginx(b *testing.B) { benchPlan(b, "nginx") }
func BenchmarkAuditApache(b *testing.B)  { benchAudit(b, "apache") }
func BenchmarkFixPlanApache(b *testing.B) {
	benchPlan(b, "apache")
}
