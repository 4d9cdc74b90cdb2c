package nginx

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

var update = flag.Bool("update", false, "rewrite the want.json sections of testdata/golden/*.txtar")

// TestGolden runs the scanner over each testdata/golden/*.txtar tree. The
// archive comment holds options ("version: 1.22.1", "openssl: OpenSSL
// 3.0.2", "min: 1.3"); files whose names start with "/" are the host tree;
// "want.json" is the expected component(s) and findings, sorted as the
// report sorts them.
func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/golden/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(p)
			if err != nil {
				t.Fatal(err)
			}
			opts := map[string]string{}
			for _, line := range strings.Split(string(ar.Comment), "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok {
					opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
				}
			}
			files := map[string]string{}
			wantIdx := -1
			for i, f := range ar.Files {
				if f.Name == "want.json" {
					wantIdx = i
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
			got := buf.Bytes()
			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want.json"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = got
				if err := os.WriteFile(p, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatalf("%s has no want.json section (run go test -update)", p)
			}
			if want := ar.Files[wantIdx].Data; !bytes.Equal(want, got) {
				t.Errorf("report differs from %s (-want +got):\n%s", p, diff.Diff("want", want, "got", got))
			}
		})
	}
}
