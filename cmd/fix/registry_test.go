package fix

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
)

// winHost is a fake Windows 10 with TLS 1.0 explicitly on for servers.
func winHost(t *testing.T) *platformtest.Registry {
	t.Helper()
	reg := platformtest.NewRegistry()
	reg.SetString(platform.LocalMachine, platform.View64, schannel.CurrentVersionKey, "CurrentBuildNumber", "19045")
	reg.SetString(platform.LocalMachine, platform.View64, schannel.CurrentVersionKey, "ProductName", "Windows 10 Pro")
	if err := reg.SetDWORD(platform.LocalMachine, platform.View64, schannel.SideKey(audit.TLS10, schannel.Server), "Enabled", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateKey(platform.LocalMachine, platform.View64, `SOFTWARE\Wow6432Node`); err != nil {
		t.Fatal(err)
	}
	reg.Writes = 0
	return reg
}

type run struct {
	opts          *Options
	out, errOut   *bytes.Buffer
	reg           *platformtest.Registry
	elevated, tty bool
	stdin         string
}

func newRun(t *testing.T, reg *platformtest.Registry) *run {
	return &run{reg: reg, elevated: true, out: &bytes.Buffer{}, errOut: &bytes.Buffer{},
		opts: &Options{MinVersion: audit.TLS12, TLS13: TLS13Auto, Format: cmdutil.FormatText, BackupDir: filepath.Join(t.TempDir(), "backups"), GOOS: "windows"}}
}

func (r *run) exec() (int, error) {
	ios := cmdutil.Test(strings.NewReader(r.stdin), r.out, r.errOut)
	ios.InTTY, ios.OutTTY = r.tty, r.tty
	r.opts.Factory = &cmdutil.Factory{IO: ios, Registry: r.reg, Elevation: platformtest.Elevation(r.elevated),
		Now: func() time.Time { return time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC) }, Version: "test", Getenv: func(string) string { return "" }}
	err := Run(context.Background(), r.opts)
	var ee *cmdutil.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.Code, err
	}
	return 1, err
}

func TestRegistryDryRun(t *testing.T) {
	r := newRun(t, winHost(t))
	r.opts.DryRun = true
	code, _ := r.exec()
	if code != cmdutil.ExitNonCompliant || r.reg.Writes != 0 {
		t.Fatalf("exit %d, %d writes", code, r.reg.Writes)
	}
	if !strings.Contains(r.out.String(), "TLS 1.0\\Server\n  Enabled            1 -> 0\n") {
		t.Errorf("diff:\n%s", r.out)
	}
	if strings.Contains(r.out.String(), "Restart") {
		t.Error("restart note on a dry run")
	}
}

func TestRegistryConfirmation(t *testing.T) {
	tests := []struct {
		name      string
		tty       bool
		stdin     string
		yes       bool
		elevated  bool
		wantCode  int
		wantWrite bool
		wantErr   string
	}{
		{"no terminal, no --yes", false, "", false, true, cmdutil.ExitNonCompliant, false, "Rerun with --yes"},
		{"terminal, answer no", true, "n\n", false, true, cmdutil.ExitNonCompliant, false, "[y/N]"},
		{"terminal, empty answer", true, "\n", false, true, cmdutil.ExitNonCompliant, false, "Nothing written"},
		{"terminal, answer yes", true, "yes\n", false, true, 0, true, "[y/N]"},
		{"--yes", false, "", true, true, 0, true, "backup"},
		{"not elevated", false, "", true, false, cmdutil.ExitUsage, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRun(t, winHost(t))
			r.tty, r.stdin, r.elevated, r.opts.Yes = tt.tty, tt.stdin, tt.elevated, tt.yes
			code, err := r.exec()
			if code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.wantCode)
			}
			if (r.reg.Writes > 0) != tt.wantWrite {
				t.Errorf("%d writes, want writes: %v", r.reg.Writes, tt.wantWrite)
			}
			if !strings.Contains(r.errOut.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", r.errOut, tt.wantErr)
			}
			if !tt.elevated && (err == nil || !strings.Contains(err.Error(), "elevated prompt")) {
				t.Errorf("not elevated: err = %v", err)
			}
			if tt.wantWrite && !strings.Contains(r.out.String(), "Restart the machine") {
				t.Errorf("no restart note:\n%s", r.out)
			}
		})
	}
}

func TestRegistryJSONAndNothingToChange(t *testing.T) {
	reg := winHost(t)
	r := newRun(t, reg)
	r.opts.Yes, r.opts.Format = true, cmdutil.FormatJSON
	if code, err := r.exec(); code != 0 {
		t.Fatalf("exit %d: %v", code, err)
	}
	var rep struct {
		Status          string   `json:"status"`
		BackupID        string   `json:"backup_id"`
		BackupDir       string   `json:"backup_dir"`
		Target          []string `json:"target"`
		RestartRequired bool     `json:"restart_required"`
		Changes         []struct {
			Key   string  `json:"key"`
			Value string  `json:"value"`
			Old   *uint32 `json:"old"`
			New   uint32  `json:"new"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(r.out.Bytes(), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, r.out)
	}
	if rep.Status != "applied" || rep.BackupID == "" || !strings.HasPrefix(rep.BackupDir, r.opts.BackupDir) || !rep.RestartRequired || len(rep.Changes) == 0 {
		t.Errorf("report %+v", rep)
	}
	found := false
	for _, c := range rep.Changes {
		if strings.HasSuffix(c.Key, `TLS 1.0\Server`) && c.Value == "Enabled" && c.Old != nil && *c.Old == 1 && c.New == 0 {
			found = true
		}
		if strings.HasSuffix(c.Key, `TLS 1.2\Server`) && c.Value == "Enabled" && c.Old != nil {
			t.Errorf("missing value reported as %d", *c.Old)
		}
	}
	if !found {
		t.Errorf("TLS 1.0 server change not in JSON: %s", r.out)
	}
	// A second run has nothing to do: exit 0, dry run or not.
	r2 := newRun(t, reg)
	r2.opts.DryRun = true
	if code, err := r2.exec(); code != 0 || !strings.Contains(r2.out.String(), "Nothing to change") {
		t.Fatalf("second run: exit %d %v\n%s", code, err, r2.out)
	}
}

func TestRegistryWriteFailure(t *testing.T) {
	reg := winHost(t)
	before := reg.Dump()
	r := newRun(t, reg)
	r.opts.Yes = true
	reg.FailWrite = 7
	code, err := r.exec()
	if code != cmdutil.ExitRolledBack || reg.Dump() != before {
		t.Fatalf("exit %d (%v); registry restored: %v", code, err, reg.Dump() == before)
	}
	reg = winHost(t)
	r = newRun(t, reg)
	r.opts.Yes = true
	reg.FailWritesFrom = 3
	code, err = r.exec()
	if code != cmdutil.ExitRollbackFailed || err == nil || !strings.Contains(err.Error(), "backup.reg") {
		t.Fatalf("exit %d (%v), want 6 naming the backup", code, err)
	}
}

func TestRegistryTLS13OnUnsupported(t *testing.T) {
	r := newRun(t, winHost(t))
	r.opts.TLS13 = TLS13On
	code, err := r.exec()
	if code != cmdutil.ExitUsage || !strings.Contains(err.Error(), "TLS 1.3") {
		t.Fatalf("exit %d: %v", code, err)
	}
}
