package nginx

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// TestGolden runs the scanner over each testdata/golden/*.txtar tree. The
// archive comment holds options ("version: 1.22.1", "openssl: OpenSSL
// 3.0.2", "min: 1.3"); files whose names start with "/" are the host tree;
// "want.json" is the expected component(s) and findings, sorted as the
// report sorts them.
func TestGolden(t *testing.T) {
	platformtest.Txtars(t, "testdata/golden/*.txtar", func(t *testing.T, p string, ar *txtar.Archive) {
		opts := map[string]string{}
		for _, line := range strings.Split(string(ar.Comment), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		files := map[string]string{}
		for _, f := range ar.Files {
			if f.Name == "want.json" {
				continue
			}
			files[f.Name] = string(f.Data)
		}
		root := platformtest.WriteTree(t, files)
		o := audit.Options{NginxConf: conf, NginxVersion: opts["version"]}
		var env *audit.Env
		if lib := opts["openssl"]; lib != "" {
			o.NginxBin = "/fake/nginx"
			env = testEnv(root, fakeNginx(opts["version"], lib, ""), o)
		} else {
			env = testEnv(root, nil, o)
		}
		if opts["min"] == "1.3" {
			env.Policy.MinProtocol = audit.TLS13
		}
		res, err := NewScanner().Scan(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		rep := audit.Report{Components: res.Components, Findings: res.Findings}
		rep.Finalize(env.Policy)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Components []audit.Component `json:"components"`
			Findings   []audit.Finding   `json:"findings"`
		}{rep.Components, rep.Findings}); err != nil {
			t.Fatal(err)
		}
		platformtest.GoldenSection(t, p, ar, "want.json", buf.Bytes())
	})
}
