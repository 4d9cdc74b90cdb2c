//go:build unix

package txn

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func applied(t *testing.T, tr *tree) *Result {
	t.Helper()
	res, err := Apply(context.Background(), Deps{FS: tr.fs, Runner: okRunner()}, tr.plan(t), Options{BackupDir: tr.backup})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRollbackRefusesChangedFilesUnlessForced(t *testing.T) {
	edited := []byte("server { ssl_protocols TLSv1.3; } # edited by hand\n")
	tests := []struct {
		name   string
		tamper func(t *testing.T, tr *tree)
		reason string
	}{
		{"edited after the fix", func(t *testing.T, tr *tree) {
			os.WriteFile(tr.fs.Real("/etc/nginx/conf.d/a.conf"), edited, 0o600)
		}, "/etc/nginx/conf.d/a.conf: content differs from what the fix wrote"},
		{"deleted after the fix", func(t *testing.T, tr *tree) {
			os.Remove(tr.fs.Real("/etc/nginx/conf.d/a.conf"))
		}, "/etc/nginx/conf.d/a.conf: file is missing"},
		{"link replaced by a file", func(t *testing.T, tr *tree) {
			link := tr.fs.Real("/etc/nginx/sites-enabled/site.conf")
			os.Remove(link)
			os.WriteFile(link, edited, 0o644)
		}, "/etc/nginx/sites-enabled/site.conf: was a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t, 3)
			res := applied(t, tr)
			tt.tamper(t, tr)
			_, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, ID: res.BackupID})
			var de *DriftError
			if !errors.As(err, &de) || !errors.Is(err, ErrDrift) {
				t.Fatalf("err = %v, want DriftError", err)
			}
			if len(de.Files) != 1 || !strings.HasPrefix(de.Files[0], tt.reason) || !strings.Contains(err.Error(), "--force") {
				t.Errorf("refusal %q, want %q and a hint at --force", err, tt.reason)
			}
			// Nothing was restored: the untouched files still hold the fix.
			if got := tr.read(t, "/etc/nginx/nginx.conf"); !bytes.Contains(got, []byte(fixed)) {
				t.Error("a refused rollback wrote files")
			}
			m, _ := LoadManifest(res.BackupPath)
			if m.Status != StatusApplied {
				t.Errorf("status %s after a refusal", m.Status)
			}

			rr, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, ID: res.BackupID, Force: true})
			if err != nil {
				t.Fatalf("--force: %v", err)
			}
			if len(rr.Forced) != 1 {
				t.Errorf("forced %v", rr.Forced)
			}
			if tt.name == "link replaced by a file" {
				// The target is restored; the regular file the user put in
				// place of the link is theirs to sort out.
				if got := tr.read(t, "/etc/nginx/sites-available/site.conf"); !bytes.Equal(got, tr.orig["/etc/nginx/sites-available/site.conf"]) {
					t.Error("link target not restored")
				}
				return
			}
			tr.assertOriginal(t)
		})
	}
}

func TestRollbackRestoresTheRightBackup(t *testing.T) {
	tr := newTree(t, 3)
	clock := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Minute); return clock }
	deps := Deps{FS: tr.fs, Runner: okRunner()}
	first, err := Apply(context.Background(), deps, tr.plan(t), Options{BackupDir: tr.backup, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	afterFirst := map[string][]byte{}
	for _, f := range tr.files {
		real, _ := tr.fs.EvalSymlinks(f)
		afterFirst[real] = tr.read(t, real)
	}
	// A second fix on top of the first (a later plan, e.g. TLS 1.3 only).
	p2 := tr.plan2(t, fixed, "ssl_protocols TLSv1.3;")
	second, err := Apply(context.Background(), deps, p2, Options{BackupDir: tr.backup, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	// A run killed while backing up leaves a directory without manifest.
	os.MkdirAll(filepath.Join(tr.backup, "20261128T235959Z-dead00", "files"), 0o700)

	infos, err := List(tr.backup)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var statuses []Status
	for _, in := range infos {
		ids, statuses = append(ids, in.ID), append(statuses, in.Status)
	}
	if diff := cmp.Diff([]string{first.BackupID, second.BackupID, "20261128T235959Z-dead00"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Status{StatusApplied, StatusApplied, StatusIncomplete}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tr.files, infos[0].Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if !infos[0].Created.Equal(time.Date(2026, 11, 28, 10, 1, 0, 0, time.UTC)) {
		t.Errorf("created %v", infos[0].Created)
	}

	// --last skips the incomplete one and undoes the second fix only.
	rr, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true})
	if err != nil {
		t.Fatal(err)
	}
	if rr.BackupID != second.BackupID {
		t.Fatalf("--last restored %s, want %s", rr.BackupID, second.BackupID)
	}
	for real, want := range afterFirst {
		if got := tr.read(t, real); !bytes.Equal(got, want) {
			t.Errorf("%s: want the first fix's bytes", real)
		}
	}
	// --last again refuses: the newest backup is already rolled back.
	if _, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true}); !errors.Is(err, ErrAlreadyRolledBack) {
		t.Fatalf("err = %v, want ErrAlreadyRolledBack", err)
	}
	// The first backup by id brings back the originals.
	if _, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, ID: first.BackupID}); err != nil {
		t.Fatal(err)
	}
	tr.assertOriginal(t)

	for _, id := range []string{"../etc", ".lock", "", "nope"} {
		if _, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, ID: id}); err == nil {
			t.Errorf("rollback %q accepted", id)
		}
	}
	if _, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, ID: "20261128T235959Z-dead00"}); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("incomplete backup: %v", err)
	}
}

func TestRollbackReloadsRecordedServers(t *testing.T) {
	tr := newTree(t, 2)
	res := applied(t, tr)
	svc := &platformtest.Services{}
	runner := okRunner()
	rr, err := Rollback(context.Background(), Deps{FS: tr.fs, Runner: runner, Services: svc}, RollbackOptions{BackupDir: tr.backup, ID: res.BackupID, Reload: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []platformtest.ServiceCall{{Service: platform.Service{Kind: "nginx", Binary: "nginx", Main: "/etc/nginx/nginx.conf"}, Action: platform.ActionReload}}
	if diff := cmp.Diff(want, svc.Calls); diff != "" {
		t.Errorf("reloads (-want +got):\n%s", diff)
	}
	if len(rr.Reload) != 1 || !rr.Reload[0].OK {
		t.Errorf("reload results %+v", rr.Reload)
	}
	// The restored config is tested before the reload.
	if len(runner.Calls) != 1 || runner.Calls[0][1] != "-t" {
		t.Errorf("commands %v", runner.Calls)
	}
}

func TestRollbackNoBackups(t *testing.T) {
	tr := newTree(t, 2)
	_, err := Rollback(context.Background(), Deps{FS: tr.fs}, RollbackOptions{BackupDir: tr.backup, Last: true})
	if !errors.Is(err, ErrNoBackup) {
		t.Fatalf("err = %v, want ErrNoBackup", err)
	}
	if infos, err := List(tr.backup); err != nil || len(infos) != 0 {
		t.Fatalf("List of a missing dir: %v %v", infos, err)
	}
}
