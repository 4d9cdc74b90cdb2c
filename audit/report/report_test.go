package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/audit"
)

func sampleReport() *audit.Report {
	r := &audit.Report{
		Tool: audit.Tool{Name: "tlsfloor", Version: "test"},
		Components: []audit.Component{
			{Kind: audit.KindNginx, Path: "/etc/nginx/nginx.conf", Version: "1.22.1", Status: audit.StatusOK,
				Contexts: []audit.Context{{File: "/etc/nginx/sites/a", Line: 3, Kind: "http server", Name: "a.test",
					Listen: []string{"*:443"}, Protocols: audit.Set(audit.TLS10, audit.TLS12), Source: audit.SourceInherited,
					From: &audit.Location{File: "/etc/nginx/nginx.conf", Line: 33}}}},
			{Kind: audit.KindOpenSSL, Path: "/usr/lib/libcrypto.so.3", Version: "OpenSSL 3.0.22", Status: audit.StatusOK},
			{Kind: audit.KindOpenSSL, Path: "/usr/bin/openssl", Version: "OpenSSL 3.0.22", Status: audit.StatusOK},
		},
		Findings: []audit.Finding{
			audit.NewFinding(audit.RuleOpenSSLEOL, audit.KindOpenSSL, audit.Location{File: "/usr/bin/openssl"}, 0, "cli eol"),
			audit.NewFinding(audit.RuleLegacyEnabled, audit.KindNginx, audit.Location{File: "/etc/nginx/nginx.conf", Line: 33}, audit.Set(audit.TLS10), "nginx legacy"),
			audit.NewFinding(audit.RuleLiveDiffers, audit.KindLive, audit.Location{File: "127.0.0.1:443"}, 0, "orphan"),
		},
	}
	r.Finalize(audit.DefaultPolicy())
	return r
}

func TestWriteTextPlacesFindingsUnderTheirComponent(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, sampleReport(), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	cli := strings.Index(out, "(/usr/bin/openssl)")
	lib := strings.Index(out, "(/usr/lib/libcrypto.so.3)")
	eol := strings.Index(out, "cli eol")
	if cli < 0 || lib < 0 || eol < cli || lib > cli {
		t.Errorf("CLI finding not under the CLI component:\n%s", out)
	}
	if !strings.Contains(out, "/etc/nginx/sites/a:3 http server a.test [*:443]") ||
		!strings.Contains(out, "protocols: TLSv1.0 TLSv1.2 (inherited at /etc/nginx/nginx.conf:33)") {
		t.Errorf("context line missing:\n%s", out)
	}
	for _, heading := range []string{
		"nginx 1.22.1 (/etc/nginx/nginx.conf)  [1 high]",
		"openssl OpenSSL 3.0.22 (/usr/lib/libcrypto.so.3)  [no findings]",
		"openssl OpenSSL 3.0.22 (/usr/bin/openssl)  [1 low]",
	} {
		if !strings.Contains(out, heading+"\n") {
			t.Errorf("heading %q missing:\n%s", heading, out)
		}
	}
	if !strings.Contains(out, "other findings") || !strings.Contains(out, "orphan") {
		t.Errorf("finding without component dropped:\n%s", out)
	}
	if !strings.Contains(out, "NON-COMPLIANT") || strings.Contains(out, "\x1b[") {
		t.Errorf("verdict or colour wrong:\n%s", out)
	}
	b.Reset()
	_ = WriteText(&b, sampleReport(), TextOptions{Color: true})
	if !strings.Contains(b.String(), "\x1b[") {
		t.Error("colour requested but not written")
	}
}

func TestWriteJSONContract(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["schema_version"] != float64(1) {
		t.Errorf("schema_version = %v", got["schema_version"])
	}
	for _, key := range []string{"tool", "policy", "components", "findings", "summary"} {
		if _, ok := got[key]; !ok {
			t.Errorf("missing %q", key)
		}
	}
	f := got["findings"].([]any)[0].(map[string]any)
	for _, key := range []string{"id", "severity", "component", "file", "line", "protocols", "message", "remediation", "fixable", "affects"} {
		if _, ok := f[key]; !ok {
			t.Errorf("finding lacks %q: %v", key, f)
		}
	}
	if f["protocols"].([]any)[0] != "TLSv1.0" {
		t.Errorf("protocol spelling = %v", f["protocols"])
	}
	ctx := got["components"].([]any)[0].(map[string]any)["contexts"].([]any)[0].(map[string]any)
	for _, key := range []string{"file", "line", "kind", "name", "listen", "protocols", "source", "from"} {
		if _, ok := ctx[key]; !ok {
			t.Errorf("context lacks %q", key)
		}
	}
}
