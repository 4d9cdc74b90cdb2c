package rollback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/txn"
)

func TestNewCmdRollback(t *testing.T) {
	img := t.TempDir()
	tests := []struct {
		args    string
		want    Options
		wantErr string
	}{
		{args: "--last", want: Options{Last: true, BackupDir: "/var/lib/tlsfloor/backups", Format: cmdutil.FormatText}},
		{args: "--list --format json --backup-dir /b", want: Options{List: true, BackupDir: "/b", Format: cmdutil.FormatJSON}},
		{args: "20261128T233000Z-4f2a9c --force --reload --root " + img, want: Options{ID: "20261128T233000Z-4f2a9c", Force: true, Reload: true, Root: img, BackupDir: "/var/lib/tlsfloor/backups", Format: cmdutil.FormatText}},
		{args: "--last --root " + img + "/missing", wantErr: "no such file or directory"},
		{args: "", wantErr: "exactly one"},
		{args: "--last --list", wantErr: "exactly one"},
		{args: "ID --last", wantErr: "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			f := &cmdutil.Factory{IO: cmdutil.Test(nil, &bytes.Buffer{}, &bytes.Buffer{}), Getenv: func(string) string { return "" }}
			var got *Options
			cmd := NewCmdRollback(f, func(_ context.Context, o *Options) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !cmdutil.IsFlagError(err) {
					t.Fatalf("err = %v, want flag error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Factory, got.GOOS, got.formatFlag = nil, "", ""
			if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(Options{})); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// env is a rooted tree with one applied fix.
type env struct {
	root, backup string
	conf         string // host path
	before       []byte
	res          *txn.Result
	out, errOut  bytes.Buffer
	services     *platformtest.Services
	writer       *platform.OSWriter
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{root: t.TempDir(), backup: filepath.Join(t.TempDir(), "backups"), conf: "/etc/nginx/nginx.conf",
		before: []byte("http {\n\tssl_protocols TLSv1 TLSv1.2; # old\n}\n"), services: &platformtest.Services{}}
	real := filepath.Join(e.root, "etc/nginx/nginx.conf")
	os.MkdirAll(filepath.Dir(real), 0o755)
	if err := os.WriteFile(real, e.before, 0o640); err != nil {
		t.Fatal(err)
	}
	e.writer = platform.NewOSWriter(e.root)
	fc := remediate.NewFileChange(e.conf, e.conf, e.before, 0o640)
	i := bytes.Index(e.before, []byte("TLSv1 TLSv1.2"))
	fc.Edits = []remediate.Edit{{Start: i, End: i + len("TLSv1 TLSv1.2"), New: "TLSv1.2 TLSv1.3"}}
	plan := &remediate.Plan{Files: []remediate.FileChange{fc}, Servers: []remediate.Server{{Kind: "nginx", Main: e.conf, Binary: "/usr/sbin/nginx"}}}
	var err error
	e.res, err = txn.Apply(context.Background(), txn.Deps{FS: e.writer, Runner: &platformtest.Runner{}}, plan,
		txn.Options{BackupDir: e.backup, Root: e.root, Now: func() time.Time { return time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) run(t *testing.T, args ...string) error {
	t.Helper()
	e.out.Reset()
	e.errOut.Reset()
	f := &cmdutil.Factory{
		IO: cmdutil.Test(nil, &e.out, &e.errOut), Getenv: func(string) string { return "" }, Now: time.Now,
		Runner:    &platformtest.Runner{},
		NewWriter: func(root string) platform.Writer { e.writer.OSFS = platform.NewOSFS(root); return e.writer },
		Services:  e.services,
	}
	cmd := NewCmdRollback(f, nil)
	cmd.SetArgs(append(args, "--backup-dir", e.backup, "--root", e.root))
	cmd.SetOut(&e.out)
	cmd.SetErr(&e.errOut)
	return cmd.Execute()
}

func (e *env) current(t *testing.T) []byte {
	b, err := os.ReadFile(filepath.Join(e.root, "etc/nginx/nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRollbackRunList(t *testing.T) {
	e := newEnv(t)
	if err := e.run(t, "--list"); err != nil {
		t.Fatal(err)
	}
	want := "ID                       CREATED               STATUS   FILES\n" +
		e.res.BackupID + "  2026-11-28T23:30:00Z  applied  1 (/etc/nginx/nginx.conf)\n"
	if diff := cmp.Diff(want, e.out.String()); diff != "" {
		t.Errorf("--list (-want +got):\n%s", diff)
	}
	if err := e.run(t, "--list", "--format", "json"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		SchemaVersion int `json:"schema_version"`
		Backups       []struct {
			ID     string   `json:"id"`
			Status string   `json:"status"`
			Files  []string `json:"files"`
		} `json:"backups"`
	}
	if err := json.Unmarshal(e.out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	if got.SchemaVersion != 1 || len(got.Backups) != 1 || got.Backups[0].ID != e.res.BackupID || got.Backups[0].Status != "applied" {
		t.Errorf("json %+v", got)
	}
}

func TestRollbackRunLastRestoresAndReloads(t *testing.T) {
	e := newEnv(t)
	if err := e.run(t, "--last", "--reload"); err != nil {
		t.Fatalf("%v\n%s", err, e.errOut.String())
	}
	if !bytes.Equal(e.current(t), e.before) {
		t.Errorf("not restored: %q", e.current(t))
	}
	if !regexp.MustCompile(`(?m)^  restored +/etc/nginx/nginx.conf$`).MatchString(e.out.String()) {
		t.Errorf("output %q", e.out.String())
	}
	if len(e.services.Calls) != 1 || e.services.Calls[0].Service.Kind != "nginx" {
		t.Errorf("reloads %+v", e.services.Calls)
	}
	// The list now says so, and --last refuses a second time.
	e.run(t, "--list")
	if !strings.Contains(e.out.String(), "rolled-back") {
		t.Errorf("list after rollback: %q", e.out.String())
	}
	err := e.run(t, "--last")
	var ee *cmdutil.ExitError
	if err == nil || !strings.Contains(err.Error(), "already rolled back") || !errors.As(err, &ee) || ee.Code != cmdutil.ExitUsage {
		t.Errorf("second --last: %v, want exit 2", err)
	}
	if err := e.run(t, "20991231T000000Z-000000"); err == nil || !strings.Contains(err.Error(), "no backup found") ||
		!errors.As(err, &ee) || ee.Code != cmdutil.ExitUsage {
		t.Errorf("unknown id: %v, want exit 2", err)
	}
}

func TestRollbackRunDriftAndForce(t *testing.T) {
	e := newEnv(t)
	real := filepath.Join(e.root, "etc/nginx/nginx.conf")
	os.WriteFile(real, []byte("edited by hand\n"), 0o640)
	err := e.run(t, e.res.BackupID)
	var ee *cmdutil.ExitError
	if err == nil || !errors.As(err, &ee) || ee.Code != cmdutil.ExitUsage || !strings.Contains(err.Error(), "/etc/nginx/nginx.conf: content differs") {
		t.Fatalf("err = %v, want a refusal naming the file, exit 2 (nothing written)", err)
	}
	if got := e.current(t); string(got) != "edited by hand\n" {
		t.Fatalf("refusal wrote the file")
	}
	if err := e.run(t, e.res.BackupID, "--force", "--format", "json"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(e.current(t), e.before) {
		t.Error("--force did not restore")
	}
	var got struct {
		Forced []string `json:"forced"`
		Status string   `json:"status"`
	}
	json.Unmarshal(e.out.Bytes(), &got)
	if diff := cmp.Diff([]string{"/etc/nginx/nginx.conf"}, got.Forced); diff != "" || got.Status != "rolled-back" {
		t.Errorf("json forced (-want +got):\n%s status %s", diff, got.Status)
	}
}

func TestRollbackRunFailureExits6(t *testing.T) {
	e := newEnv(t)
	e.writer.Hook = func(s platform.AtomicStep, _ string) error {
		if s == platform.StepRename {
			return syscall.EROFS
		}
		return nil
	}
	err := e.run(t, "--last")
	var ee *cmdutil.ExitError
	if !errors.As(err, &ee) || ee.Code != cmdutil.ExitRollbackFailed {
		t.Fatalf("err = %v, want exit 6", err)
	}
	if !strings.Contains(err.Error(), e.res.BackupPath) {
		t.Errorf("error does not say where the backup is: %v", err)
	}
}
