package apachefix

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/apache"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// fakeCtl is an apachectl at /fake/apachectl whose -V reports version
// (empty: no binary at all).
func fakeCtl(version string) (*platformtest.Runner, string) {
	if version == "" {
		return &platformtest.Runner{}, ""
	}
	return &platformtest.Runner{Script: map[string]platform.Output{
		"/fake/apachectl -V": {Stdout: []byte("Server version: Apache/" + version + " (Debian)\nServer built:   2025-01-01\n")},
	}}, "/fake/apachectl"
}

func testEnv(root, conf, version string, min audit.Protocol) *audit.Env {
	runner, bin := fakeCtl(version)
	return &audit.Env{
		FS:      platform.NewOSFS(root),
		Runner:  runner,
		Getenv:  func(string) string { return "" },
		Now:     func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
		Policy:  audit.Policy{MinProtocol: min, FailOn: audit.Medium},
		Options: audit.Options{Root: root, ApacheConf: conf, ApacheBin: bin},
	}
}

func plan(t testing.TB, env *audit.Env, pol remediate.Policy) (*apache.Analysis, *remediate.Plan) {
	t.Helper()
	a, p, err := Analyze(context.Background(), env, Options{Policy: pol})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return a, p
}

func apply(t testing.TB, root string, p *remediate.Plan) {
	t.Helper()
	for _, fc := range p.Files {
		after, err := fc.After()
		if err != nil {
			t.Fatal(err)
		}
		disk := filepath.Join(root, filepath.FromSlash(fc.RealPath))
		fi, err := os.Stat(disk)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(disk, after, fi.Mode()); err != nil {
			t.Fatal(err)
		}
	}
}

// legacyFindings are the findings a fix must leave none of.
func legacyFindings(a *apache.Analysis) []audit.Finding {
	var out []audit.Finding
	for _, f := range a.Findings {
		if f.ID == audit.RuleLegacyEnabled || f.ID == audit.RuleLegacyDefault || f.ID == audit.RuleDirectiveNoEffect {
			out = append(out, f)
		}
	}
	return out
}
