package platformtest

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
)

// outcomeTB records how a helper ended the test instead of ending it.
type outcomeTB struct {
	testing.TB
	skipped, failed string
}

func (r *outcomeTB) Helper() {}
func (r *outcomeTB) end(dst *string, msg string) {
	*dst = msg
	runtime.Goexit()
}
func (r *outcomeTB) Skip(args ...any) { r.end(&r.skipped, fmt.Sprint(args...)) }
func (r *outcomeTB) Skipf(format string, args ...any) {
	r.end(&r.skipped, fmt.Sprintf(format, args...))
}
func (r *outcomeTB) Fatal(args ...any) { r.end(&r.failed, fmt.Sprint(args...)) }
func (r *outcomeTB) Fatalf(format string, args ...any) {
	r.end(&r.failed, fmt.Sprintf(format, args...))
}
func (r *outcomeTB) Errorf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

// outcome runs fn with a recording TB in its own goroutine (Skip and
// Fatal end it) and reports what happened.
func outcome(t *testing.T, fn func(tb testing.TB)) *outcomeTB {
	r := &outcomeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestRequireSkipsOrFailsUnderCI(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := outcome(t, func(tb testing.TB) { Require(tb, false, "no widget") })
		if ci == "true" && (r.failed != "CI=true: no widget" || r.skipped != "") {
			t.Errorf("CI=true: failed %q, skipped %q; want a failure", r.failed, r.skipped)
		}
		if ci == "" && (r.failed != "" || r.skipped == "") {
			t.Errorf("CI unset: failed %q, skipped %q; want a skip", r.failed, r.skipped)
		}
		if r := outcome(t, func(tb testing.TB) { Require(tb, true, "fine") }); r.failed != "" || r.skipped != "" {
			t.Errorf("CI=%q, ok: failed %q, skipped %q", ci, r.failed, r.skipped)
		}
	}
}

func TestRequireTool(t *testing.T) {
	t.Setenv("CI", "true")
	var got string
	if r := outcome(t, func(tb testing.TB) { got = RequireTool(tb, "sh") }); r.failed != "" || filepath.Base(got) != "sh" {
		t.Errorf("sh: %q, failed %q", got, r.failed)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if r := outcome(t, func(tb testing.TB) { got = RequireTool(tb, self) }); r.failed != "" || got != self {
		t.Errorf("%s: %q, failed %q", self, got, r.failed)
	}
	for _, name := range []string{"tlsfloor-no-such-tool", "/nonexistent/tool"} {
		if r := outcome(t, func(tb testing.TB) { RequireTool(tb, name) }); r.failed == "" {
			t.Errorf("%s under CI=true did not fail (skipped %q)", name, r.skipped)
		}
	}
}

func TestFreePortListeningEventually(t *testing.T) {
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if Listening(addr) {
		t.Fatalf("%s answers before anyone listens", addr)
	}
	n := 0
	if !Eventually(func() bool { n++; return n == 3 }, 5*time.Second) || n != 3 {
		t.Errorf("Eventually stopped after %d tries", n)
	}
	start := time.Now()
	if Eventually(func() bool { return false }, 100*time.Millisecond) {
		t.Error("Eventually of false held")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Eventually took %v for a 100ms timeout", d)
	}
}

func TestWriteTreeReadFile(t *testing.T) {
	root := WriteTree(t, map[string]string{"a/b.conf": "x\n", "c": "", "d/link": "-> ../a/b.conf"})
	if got := ReadFile(t, root, "d/link"); got != "x\n" {
		t.Errorf("d/link = %q", got)
	}
	if got := ReadFile(t, root, "a/b.conf"); got != "x\n" {
		t.Errorf("a/b.conf = %q", got)
	}
	if got := ReadFile(t, root, "c"); got != "" {
		t.Errorf("c = %q", got)
	}
}

func TestGoldenSection(t *testing.T) {
	file := filepath.Join(t.TempDir(), "case.txtar")
	ar := &txtar.Archive{Files: []txtar.File{{Name: "in", Data: []byte("1\n")}, {Name: "want", Data: []byte("2\n")}}}
	if r := outcome(t, func(tb testing.TB) { GoldenSection(tb, file, ar, "want", []byte("2\n")) }); r.failed != "" {
		t.Errorf("equal section: %s", r.failed)
	}
	if r := outcome(t, func(tb testing.TB) { GoldenSection(tb, file, ar, "want", []byte("3\n")) }); r.failed == "" {
		t.Error("a different section passed")
	}
	if r := outcome(t, func(tb testing.TB) { GoldenSection(tb, file, ar, "other", []byte("3\n")) }); r.failed == "" {
		t.Error("a missing section passed")
	}

	defer func(u bool) { *Update = u }(*Update)
	*Update = true
	GoldenSection(t, file, ar, "want", []byte("3\n"))
	GoldenSection(t, file, ar, "other", []byte("4\n"))
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "-- in --\n1\n-- want --\n3\n-- other --\n4\n"; string(b) != want {
		t.Errorf("rewritten archive:\n%s\nwant:\n%s", b, want)
	}
}

func TestSelfSignedCert(t *testing.T) {
	dir := t.TempDir()
	for _, mk := range []func(testing.TB, string) (string, string){SelfSignedCert, SelfSignedCertECDSA} {
		cert, key := mk(t, dir)
		if filepath.Base(cert) != "cert.pem" || filepath.Base(key) != "key.pem" {
			t.Errorf("paths %s %s", cert, key)
		}
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			t.Error(err)
		}
	}
}
