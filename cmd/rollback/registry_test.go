package rollback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/audit/schannel"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate/registry"
)

func regFactory(reg platform.Registry, out, errOut *bytes.Buffer, elev bool) *cmdutil.Factory {
	return &cmdutil.Factory{IO: cmdutil.Test(strings.NewReader(""), out, errOut), Registry: reg, Elevation: platformtest.Elevation(elev),
		Now: time.Now, Getenv: func(string) string { return "" }}
}

func exitCode(err error) int {
	var ee *cmdutil.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.Code
	}
	return 1
}

func TestRegistryRollbackCommand(t *testing.T) {
	reg := platformtest.NewRegistry()
	reg.SetString(platform.LocalMachine, platform.View64, schannel.CurrentVersionKey, "CurrentBuildNumber", "17763")
	if err := reg.SetDWORD(platform.LocalMachine, platform.View64, schannel.SideKey(audit.TLS11, schannel.Client), "Enabled", 1); err != nil {
		t.Fatal(err)
	}
	before := reg.Dump()
	dir := filepath.Join(t.TempDir(), "backups")
	p, err := registry.NewPlan(reg, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := registry.Apply(context.Background(), registry.Deps{Reg: reg, Elevation: platformtest.Elevation(true), Now: time.Now}, p, registry.ApplyOptions{BackupDir: dir})
	if err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	list := &Options{Factory: regFactory(reg, &out, &errOut, true), List: true, BackupDir: dir, Format: cmdutil.FormatJSON, GOOS: "windows"}
	if err := Run(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	var l struct {
		Backups []registry.BackupInfo `json:"backups"`
	}
	if err := json.Unmarshal(out.Bytes(), &l); err != nil || len(l.Backups) != 1 || l.Backups[0].ID != res.ID || l.Backups[0].Status != registry.StatusApplied {
		t.Fatalf("list: %v %s", err, out.String())
	}

	// Not elevated: exit 2, nothing restored.
	out.Reset()
	o := &Options{Factory: regFactory(reg, &out, &errOut, false), Last: true, BackupDir: dir, Format: cmdutil.FormatText, GOOS: "windows"}
	if err := Run(context.Background(), o); exitCode(err) != cmdutil.ExitUsage || reg.Dump() == before {
		t.Fatalf("not elevated: %v", err)
	}

	out.Reset()
	o = &Options{Factory: regFactory(reg, &out, &errOut, true), Last: true, BackupDir: dir, Format: cmdutil.FormatText, GOOS: "windows"}
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("rollback --last: %v", err)
	}
	if reg.Dump() != before {
		t.Errorf("registry not restored:\n%s\nwant:\n%s", reg.Dump(), before)
	}
	if !strings.Contains(out.String(), "Rolled back "+res.ID) {
		t.Errorf("output %q", out.String())
	}

	out.Reset()
	list.Format = cmdutil.FormatText
	if err := Run(context.Background(), list); err != nil || !strings.Contains(out.String(), res.ID) || !strings.Contains(out.String(), "rolled-back") {
		t.Fatalf("text list: %v\n%s", err, out.String())
	}
	// Nothing left to roll back.
	if err := Run(context.Background(), o); !errors.Is(err, registry.ErrNoBackup) || exitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("second rollback --last: %v (exit %d), want no backup, exit 2", err, exitCode(err))
	}
}
