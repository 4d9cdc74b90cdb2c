package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func env() *audit.Env {
	return &audit.Env{
		FS: platform.NewOSFS(""), Runner: &platformtest.Runner{},
		Getenv: func(string) string { return "" }, Now: time.Now, Policy: audit.DefaultPolicy(),
	}
}

func static(ls ...Listener) Source {
	return func(context.Context, *audit.Env) ([]Listener, error) { return ls, nil }
}

func ids(fs []audit.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s/%s/%s", f.ID, f.Severity, f.Protocols))
	}
	sort.Strings(out)
	return out
}

func TestScan(t *testing.T) {
	modern := audit.Set(audit.TLS12, audit.TLS13)
	all := audit.Set(audit.TLS10, audit.TLS11, audit.TLS12, audit.TLS13)
	v := func(ps ...platform.TLSVersion) []platform.TLSVersion { return ps }
	v10, v11, v12, v13 := platform.VersionTLS10, platform.VersionTLS11, platform.VersionTLS12, platform.VersionTLS13
	tests := []struct {
		name       string
		l          Listener
		probeAt    string
		accepts    []platform.TLSVersion // nil: unreachable
		want       []string
		wantStart  string
		wantProtos audit.ProtocolSet
	}{
		{"agrees", Listener{Component: audit.KindNginx, Module: "http", Address: "*:443", Configured: modern},
			"127.0.0.1:443", v(v12, v13), nil, "", modern},
		{"config says TLS 1.0, OpenSSL 3 refuses", Listener{Component: audit.KindNginx, Address: "127.0.0.1:8445", Configured: all},
			"127.0.0.1:8445", v(v12, v13), []string{"live-differs/medium/TLSv1.0 TLSv1.1"}, "", modern},
		{"accepts legacy it is not configured for", Listener{Component: audit.KindApache, Address: "[::]:443", Configured: modern},
			"[::1]:443", v(v10, v11, v12, v13), []string{"live-differs/medium/TLSv1.0 TLSv1.1", "live-legacy-accepted/high/TLSv1.0 TLSv1.1"}, "", all},
		{"legacy as configured", Listener{Component: audit.KindNginx, Address: "10.0.0.1:443", Configured: all},
			"10.0.0.1:443", v(v10, v11, v12, v13), []string{"live-legacy-accepted/high/TLSv1.0 TLSv1.1"}, "", all},
		{"mail listener speaks STARTTLS", Listener{Component: audit.KindNginx, Module: "mail", Address: "*:587", Configured: modern},
			"127.0.0.1:587", v(v12, v13), nil, "smtp", modern},
		{"not running", Listener{Component: audit.KindNginx, Address: "*:8443", Configured: modern},
			"127.0.0.1:8443", nil, []string{"component-unknown/info/TLSv1.2 TLSv1.3"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := &platformtest.Prober{Script: map[string][]platform.ProbeResult{}}
			if tt.accepts != nil {
				fp.Script[tt.probeAt] = []platform.ProbeResult{platformtest.Accepting(tt.probeAt, tt.accepts...)}
			}
			res, err := New(fp, static(tt.l)).Scan(context.Background(), env())
			if err != nil {
				t.Fatal(err)
			}
			if len(fp.Requests) != 1 || fp.Requests[0].Address != tt.probeAt || fp.Requests[0].StartTLS != tt.wantStart {
				t.Fatalf("requests %+v, want one to %s (starttls %q)", fp.Requests, tt.probeAt, tt.wantStart)
			}
			if got := ids(res.Findings); !slices.Equal(got, tt.want) {
				t.Errorf("findings %v, want %v", got, tt.want)
			}
			for _, f := range res.Findings {
				if f.Component != audit.KindLive || f.Remediation == "" || !strings.Contains(f.Message, tt.l.Address) {
					t.Errorf("finding %+v", f)
				}
			}
			c := res.Components[0]
			if c.Kind != audit.KindLive || len(c.Contexts) != 1 || c.Contexts[0].Protocols != tt.wantProtos {
				t.Errorf("component %+v", c)
			}
		})
	}
}

func TestProbeAddress(t *testing.T) {
	tests := map[string]string{
		"*:443": "127.0.0.1:443", "0.0.0.0:443": "127.0.0.1:443", "443": "127.0.0.1:443",
		"[::]:443": "[::1]:443", "_default_:8443": "127.0.0.1:8443", "[::1]:443": "[::1]:443",
		"192.0.2.7:443": "192.0.2.7:443", "localhost:443": "127.0.0.1:443",
		"*:*": "", "unix:/run/x.sock": "",
	}
	for in, want := range tests {
		got, ok := ProbeAddress(in)
		if ok != (want != "") || got != want {
			t.Errorf("ProbeAddress(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestRootedSkipsProbes(t *testing.T) {
	fp := &platformtest.Prober{}
	e := env()
	e.Options.Root = t.TempDir()
	res, err := New(fp, static(Listener{Address: "*:443"})).Scan(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(fp.Requests) != 0 || res.Components[0].Status != audit.StatusNotFound {
		t.Errorf("rooted audit probed %d listeners, status %s", len(fp.Requests), res.Components[0].Status)
	}
}

// TestNginxListeners reads a real nginx configuration through the nginx
// analysis (no binary is run: the version is given) and probes each TLS
// listener through the fake prober.
func TestNginxListeners(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	body := `events {}
http {
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    server {
        listen 443 ssl;
        listen [::]:443 ssl;
        ssl_certificate /x.pem;
        ssl_certificate_key /x.key;
    }
    server {
        listen 127.0.0.1:8444 ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate /x.pem;
        ssl_certificate_key /x.key;
    }
    server {
        listen 80;
    }
}
`
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	e := env()
	e.Options.NginxConf = conf
	e.Options.NginxVersion = "1.22.1"
	ls, err := NginxListeners(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range ls {
		got = append(got, l.Address+" "+l.Configured.String())
	}
	want := []string{"*:443 TLSv1.0 TLSv1.1 TLSv1.2 TLSv1.3", "[::]:443 TLSv1.0 TLSv1.1 TLSv1.2 TLSv1.3", "127.0.0.1:8444 TLSv1.2 TLSv1.3"}
	if !slices.Equal(got, want) {
		t.Fatalf("listeners %q, want %q", got, want)
	}
	fp := &platformtest.Prober{Script: map[string][]platform.ProbeResult{
		"127.0.0.1:443":  {platformtest.Accepting("127.0.0.1:443", platform.VersionTLS12, platform.VersionTLS13)},
		"[::1]:443":      {platformtest.Accepting("[::1]:443", platform.VersionTLS12, platform.VersionTLS13)},
		"127.0.0.1:8444": {platformtest.Accepting("127.0.0.1:8444", platform.VersionTLS12, platform.VersionTLS13)},
	}}
	res, err := New(fp, NginxListeners).Scan(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if g := ids(res.Findings); !slices.Equal(g, []string{"live-differs/medium/TLSv1.0 TLSv1.1", "live-differs/medium/TLSv1.0 TLSv1.1"}) {
		t.Errorf("findings %v", g)
	}
	for _, f := range res.Findings {
		if f.File != conf || f.Line != 4 {
			t.Errorf("finding at %s:%d, want %s:4 (the default server)", f.File, f.Line, conf)
		}
	}
}
