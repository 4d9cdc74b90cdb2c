package openssl

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/tlsfloor/tlsfloor/audit"
	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

// fixedNow makes the end-of-life findings deterministic.
var fixedNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// TestPolicyGolden runs the scanner over each testdata/policy/*.txtar: the
// archive holds a host tree (openssl.cnf, crypto-policies, os-release), the
// output of `openssl version -a`, and options; the want.json section is the
// expected report, want.err the expected error.
//
// Options (one per line): "min-version 1.3", "no-cli" (no openssl on PATH),
// "symlink PATH TARGET" (create a link in the tree).
func TestPolicyGolden(t *testing.T) {
	platformtest.Txtars(t, "testdata/policy/*.txtar", func(t *testing.T, file string, ar *txtar.Archive) {
		root := t.TempDir()
		runner := &platformtest.Runner{Script: map[string]platform.Output{}, Paths: map[string]string{}}
		policy := audit.DefaultPolicy()
		noCLI := false
		var wantJSON, wantErr *txtar.File
		for i := range ar.Files {
			f := &ar.Files[i]
			switch f.Name {
			case "options":
				for _, line := range strings.Split(string(f.Data), "\n") {
					fields := strings.Fields(line)
					switch {
					case len(fields) == 0:
					case fields[0] == "min-version" && len(fields) == 2:
						p, ok := audit.ParseProtocol(fields[1])
						if !ok {
							t.Fatalf("bad option %q", line)
						}
						policy.MinProtocol = p
					case fields[0] == "no-cli":
						noCLI = true
					case fields[0] == "symlink" && len(fields) == 3:
						link := filepath.Join(root, fields[1])
						if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
							t.Fatal(err)
						}
						if err := os.Symlink(fields[2], link); err != nil {
							t.Fatal(err)
						}
					default:
						t.Fatalf("unknown option %q", line)
					}
				}
			case "openssl-version-a":
				runner.Script["/usr/bin/openssl version -a"] = platform.Output{Stdout: f.Data}
			case "want.json":
				wantJSON = f
			case "want.err":
				wantErr = f
			default:
				writeFile(t, filepath.Join(root, f.Name), string(f.Data))
			}
		}
		if !noCLI {
			runner.Paths["openssl"] = "/usr/bin/openssl"
		}
		env := &audit.Env{FS: platform.NewOSFS(root), Runner: runner, Getenv: noEnv, Now: func() time.Time { return fixedNow }, Policy: policy}
		rep, err := audit.Run(context.Background(), env, audit.Tool{Name: "tlsfloor", Version: "test"}, []audit.Scanner{NewScanner()})
		var got []byte
		name := "want.json"
		if err != nil {
			if !audit.IsConfigError(err) {
				t.Errorf("error %v is not a ConfigError", err)
			}
			got, name = []byte(err.Error()+"\n"), "want.err"
		} else {
			got, _ = json.MarshalIndent(rep, "", "  ")
			got = append(got, '\n')
		}
		if *platformtest.Update {
			var out []txtar.File
			for _, f := range ar.Files {
				if f.Name != "want.json" && f.Name != "want.err" {
					out = append(out, f)
				}
			}
			ar.Files = append(out, txtar.File{Name: name, Data: got})
			if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want := wantJSON
		if name == "want.err" {
			want = wantErr
		}
		if want == nil {
			t.Fatalf("no %s section; got:\n%s\n(run go test -update to record it)", name, got)
		}
		if d := cmp.Diff(string(want.Data), string(got)); d != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, d)
		}
	})
}

// TestScanRealHost runs the scanner against this machine's openssl and
// openssl.cnf and checks it against the CLI's own answers.
func TestScanRealHost(t *testing.T) {
	want := hostOpenSSLVersion(t)
	env := &audit.Env{FS: platform.NewOSFS(""), Runner: platform.ExecRunner{}, Getenv: noEnv, Now: func() time.Time { return fixedNow }, Policy: audit.DefaultPolicy()}
	res, err := NewScanner().Scan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Components) != 2 {
		t.Fatalf("components = %+v, want the CLI and the system policy", res.Components)
	}
	cli, pol := res.Components[0], res.Components[1]
	if cli.Kind != audit.KindOpenSSL || cli.Status != audit.StatusOK || cli.Version != want.String() {
		t.Errorf("CLI component = %+v, want %s", cli, want)
	}
	if pol.Kind != audit.KindSystemPolicy || pol.Status != audit.StatusOK {
		t.Errorf("policy component = %+v", pol)
	}
	// The policy's file is the one the CLI itself names.
	out, err := platform.ExecRunner{}.Run(context.Background(), []string{platformtest.RequireTool(t, "openssl"), "version", "-d"})
	if err != nil {
		t.Fatal(err)
	}
	dir := strings.Trim(strings.TrimSpace(strings.TrimPrefix(string(out.Stdout), "OPENSSLDIR:")), `"`)
	real, err := filepath.EvalSymlinks(filepath.Join(dir, "openssl.cnf"))
	if err != nil {
		t.Fatal(err)
	}
	if pol.Path != real {
		t.Errorf("policy path %s, want %s (OPENSSLDIR %s)", pol.Path, real, dir)
	}
}

// TestScanRooted audits a --root tree without running anything: the CLI's
// version comes from the libcrypto its copy links.
func TestScanRooted(t *testing.T) {
	bin := platformtest.RequireTool(t, "/usr/bin/openssl")
	want := hostOpenSSLVersion(t)
	host, err := LinkedLibrary(platform.NewOSFS(""), bin, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	copyFile(t, bin, filepath.Join(root, "usr/bin/openssl"))
	copyFile(t, host.Path, filepath.Join(root, "usr/lib", hostMultiarch(t, bin), host.SONAME))
	writeFile(t, filepath.Join(root, "etc/ssl/openssl.cnf"), "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sd\n[sd]\nMinProtocol = TLSv1\n")
	runner := &platformtest.Runner{Paths: map[string]string{"openssl": "/usr/bin/openssl"}}
	env := &audit.Env{FS: platform.NewOSFS(root), Runner: runner, Getenv: noEnv, Now: func() time.Time { return fixedNow },
		Policy: audit.DefaultPolicy(), Options: audit.Options{Root: root}}
	res, err := NewScanner().Scan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if len(runner.Calls) != 0 {
		t.Errorf("ran %v under --root", runner.Calls)
	}
	if c := res.Components[0]; c.Version != want.String() || c.Path != "/usr/bin/openssl" {
		t.Errorf("CLI component = %+v, want %s at /usr/bin/openssl", c, want)
	}
	var found bool
	for _, f := range res.Findings {
		if f.ID == audit.RulePolicyAllowsLegacy {
			found = true
			if want.SecurityLevelBlocksLegacy() && f.Severity != audit.Low {
				t.Errorf("MinProtocol = TLSv1 on %s: severity %s, want low (refused at the default level)", want, f.Severity)
			}
			if f.File != "/etc/ssl/openssl.cnf" || f.Line != 7 {
				t.Errorf("finding at %s:%d, want /etc/ssl/openssl.cnf:7", f.File, f.Line)
			}
		}
	}
	if !found {
		t.Errorf("no policy-allows-legacy finding in %+v", res.Findings)
	}
}

func TestScanCLIFailure(t *testing.T) {
	runner := &platformtest.Runner{
		Paths:  map[string]string{"openssl": "/opt/bin/openssl"},
		Script: map[string]platform.Output{"/opt/bin/openssl version -a": {ExitCode: 1, Stderr: []byte("boom")}, "/opt/bin/openssl version": {Stdout: []byte("garbage\n")}},
	}
	env := &audit.Env{FS: platform.NewOSFS(t.TempDir()), Runner: runner, Getenv: noEnv, Now: func() time.Time { return fixedNow }, Policy: audit.DefaultPolicy()}
	res, err := NewScanner().Scan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Components[0]; c.Status != audit.StatusError || !strings.Contains(c.Error, "garbage") {
		t.Errorf("component = %+v, want an error naming the unparsable output", c)
	}
	if len(res.Findings) == 0 || res.Findings[0].ID != audit.RuleComponentUnknown {
		t.Errorf("findings = %+v, want component-unknown", res.Findings)
	}
	if !bytes.Contains([]byte(strings.Join(res.Components[1].Notes, "\n")), []byte("no openssl.cnf found")) {
		t.Errorf("policy notes = %v", res.Components[1].Notes)
	}
}

// TestScanLibraryWithoutCLI: a slim image has libcrypto but no openssl
// CLI; the library is still judged and drives the policy evaluation.
func TestScanLibraryWithoutCLI(t *testing.T) {
	bin := platformtest.RequireTool(t, "/usr/bin/openssl")
	want := hostOpenSSLVersion(t)
	host, err := LinkedLibrary(platform.NewOSFS(""), bin, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	copyFile(t, host.Path, filepath.Join(root, "usr/lib", hostMultiarch(t, bin), host.SONAME))
	env := &audit.Env{FS: platform.NewOSFS(root), Runner: &platformtest.Runner{}, Getenv: noEnv, Now: func() time.Time { return fixedNow },
		Policy: audit.DefaultPolicy(), Options: audit.Options{Root: root}}
	res, err := NewScanner().Scan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Components[0]
	if c.Version != want.String() || c.Status != audit.StatusOK || !strings.Contains(strings.Join(c.Notes, "\n"), "openssl CLI not found") {
		t.Errorf("component = %+v, want %s from the library and a note that the CLI is missing", c, want)
	}
	if eff := res.Components[1].Contexts[len(res.Components[1].Contexts)-1]; want.SecurityLevelBlocksLegacy() && eff.Protocols.Has(audit.TLS10) {
		t.Errorf("effective context %+v: the found %s should refuse TLS 1.0", eff, want)
	}
}

func TestSystemLibraryRealHost(t *testing.T) {
	want := hostOpenSSLVersion(t)
	lib, err := SystemLibrary(platform.NewOSFS(""))
	if err != nil {
		t.Fatal(err)
	}
	if !lib.Version.Equal(want) {
		t.Errorf("SystemLibrary = %+v, want %s", lib, want)
	}
}

func TestScanOpenSSLBinFlag(t *testing.T) {
	runner := &platformtest.Runner{Script: map[string]platform.Output{
		"/opt/ssl/bin/openssl version -a": {Stdout: []byte("OpenSSL 1.0.1f 6 Jan 2014\nOPENSSLDIR: \"/opt/ssl\"\n")},
	}, Paths: map[string]string{"openssl": "/usr/bin/openssl"}}
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "opt/ssl/openssl.cnf"), "# empty\n")
	writeFile(t, filepath.Join(root, "etc/ssl/openssl.cnf"), "openssl_conf = x\n")
	env := &audit.Env{FS: platform.NewOSFS(root), Runner: runner, Getenv: noEnv, Now: func() time.Time { return fixedNow },
		Policy: audit.DefaultPolicy(), Options: audit.Options{OpenSSLBin: "/opt/ssl/bin/openssl"}}
	res, err := NewScanner().Scan(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Components[0]; c.Path != "/opt/ssl/bin/openssl" || c.Version != "OpenSSL 1.0.1f" {
		t.Errorf("component = %+v", c)
	}
	// The CLI's OPENSSLDIR decides which openssl.cnf applies.
	if p := res.Components[1].Path; p != "/opt/ssl/openssl.cnf" {
		t.Errorf("policy file %s, want /opt/ssl/openssl.cnf", p)
	}
	ids := map[audit.RuleID]bool{}
	for _, f := range res.Findings {
		ids[f.ID] = true
	}
	for _, id := range []audit.RuleID{audit.RuleOpenSSLHeartbleed, audit.RuleOpenSSLNoTLS13, audit.RuleOpenSSLEOL, audit.RulePolicyAllowsLegacy} {
		if !ids[id] {
			t.Errorf("no %s finding in %+v", id, res.Findings)
		}
	}
}
