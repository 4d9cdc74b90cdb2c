package platform

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestExecRunner(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	r := ExecRunner{Timeout: 5 * time.Second}
	out, err := r.Run(context.Background(), []string{sh, "-c", "echo out; echo err >&2; exit 3"})
	var ee *ExecError
	if !errors.As(err, &ee) || ee.ExitCode != 3 || out.ExitCode != 3 {
		t.Fatalf("err = %v, out = %+v", err, out)
	}
	if string(out.Stdout) != "out\n" || !strings.Contains(err.Error(), "err") {
		t.Errorf("stdout %q, err %v", out.Stdout, err)
	}
	if _, err := r.Run(context.Background(), []string{"/nonexistent/binary"}); err == nil {
		t.Error("missing binary ran")
	}
	short := ExecRunner{Timeout: 200 * time.Millisecond}
	start := time.Now()
	_, err = short.Run(context.Background(), []string{sh, "-c", "sleep 10"})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("sleep not timed out: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout not enforced: %v", time.Since(start))
	}
}
