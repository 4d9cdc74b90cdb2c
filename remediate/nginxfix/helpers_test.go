package nginxfix

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
)

// testEnv audits the nginx tree under root with main config conf and the
// given nginx version (no binary runs).
func testEnv(root, conf, version string, min audit.Protocol) *audit.Env {
	return &audit.Env{
		FS:      platform.NewOSFS(root),
		Runner:  &platformtest.Runner{},
		Getenv:  func(string) string { return "" },
		Now:     func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
		Policy:  audit.Policy{MinProtocol: min, FailOn: audit.Medium},
		Options: audit.Options{Root: root, NginxConf: conf, NginxVersion: version},
	}
}

// plan audits and plans.
func plan(t testing.TB, env *audit.Env, pol remediate.Policy) *remediate.Plan {
	t.Helper()
	_, p, err := Analyze(context.Background(), env, Options{Policy: pol})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// apply writes the plan's new bytes with plain os.WriteFile (the
// transaction package does the real thing) and returns a restore func.
func apply(t testing.TB, root string, p *remediate.Plan) (restore func()) {
	t.Helper()
	var undo []func()
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
		before := fc.Before
		undo = append(undo, func() {
			if err := os.WriteFile(disk, before, fi.Mode()); err != nil {
				t.Fatal(err)
			}
		})
	}
	return func() {
		for _, u := range undo {
			u()
		}
	}
}
