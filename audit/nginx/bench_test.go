package nginx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
)

// writeBenchTree writes an nginx tree under root/etc/nginx: nginx.conf
// including sites/*.conf, files files with perFile TLS server blocks each,
// spread over 100 loopback ports, a third setting their own ssl_protocols
// and a fifth proxying to an https upstream. testdata/bench/nginx.sh builds
// the same shape for nginx -T.
func writeBenchTree(tb testing.TB, root string, files, perFile int) {
	tb.Helper()
	dir := filepath.Join(root, "etc/nginx/sites")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	main := `worker_processes 1;
events { worker_connections 64; }
http {
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_certificate /etc/nginx/cert.pem;
    ssl_certificate_key /etc/nginx/key.pem;
    server_names_hash_max_size 65536;
    server_names_hash_bucket_size 128;
    include /etc/nginx/sites/*.conf;
}
`
	if err := os.WriteFile(filepath.Join(root, "etc/nginx/nginx.conf"), []byte(main), 0o644); err != nil {
		tb.Fatal(err)
	}
	n := 0
	for f := 0; f < files; f++ {
		var b strings.Builder
		for s := 0; s < perFile; s++ {
			fmt.Fprintf(&b, "server {\n    listen 127.0.0.1:%d ssl;\n    server_name s%d.example.test;\n", 20000+n%100, n)
			if n%3 == 0 {
				b.WriteString("    ssl_protocols TLSv1.2 TLSv1.3;\n")
			}
			b.WriteString("    location / {\n        root /var/www;\n    }\n")
			if n%5 == 0 {
				fmt.Fprintf(&b, "    location /api/ {\n        proxy_pass https://127.0.0.1:%d;\n    }\n", 30000+n%100)
			}
			b.WriteString("}\n")
			n++
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("site%04d.conf", f)), []byte(b.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestBenchTreeShape(t *testing.T) {
	root := t.TempDir()
	writeBenchTree(t, root, 10, 10)
	a := analyzeRoot(t, root)
	if len(a.Files) != 11 || len(a.Servers) != 100 || len(a.Listeners) != 100 || len(a.Proxies) != 20 {
		t.Fatalf("files %d servers %d listeners %d proxies %d", len(a.Files), len(a.Servers), len(a.Listeners), len(a.Proxies))
	}
}

// BenchmarkAnalyze audits 10,000 server blocks in 1,000 files.
func BenchmarkAnalyze(b *testing.B) {
	root := b.TempDir()
	writeBenchTree(b, root, 1000, 10)
	env := testEnv(root, nil, audit.Options{NginxConf: conf, NginxVersion: "1.22.1"})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := Analyze(context.Background(), env)
		if err != nil {
			b.Fatal(err)
		}
		if len(a.Servers) != 10000 {
			b.Fatalf("servers %d", len(a.Servers))
		}
	}
}
