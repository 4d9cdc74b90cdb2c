package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Output is what a finished command printed and how it exited.
type Output struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// Runner runs external commands. argv[0] is the program; there is never a
// shell in between.
type Runner interface {
	// Run runs argv and waits. err is nil only for exit status 0; a non-zero
	// exit gives an *ExecError and the Output is still filled in.
	Run(ctx context.Context, argv []string) (Output, error)
	// LookPath finds a program on PATH.
	LookPath(name string) (string, error)
}

// ExecError is a command that ran and failed, or could not be started.
type ExecError struct {
	Argv     []string
	ExitCode int
	Stderr   string
	Err      error
}

func (e *ExecError) Error() string {
	msg := fmt.Sprintf("%s: exit status %d", strings.Join(e.Argv, " "), e.ExitCode)
	if e.Err != nil && e.ExitCode < 0 {
		msg = fmt.Sprintf("%s: %v", strings.Join(e.Argv, " "), e.Err)
	}
	if tail := lastLines(e.Stderr, 5); tail != "" {
		msg += ": " + tail
	}
	return msg
}

func (e *ExecError) Unwrap() error { return e.Err }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "; "))
}

// DefaultTimeout bounds every external command unless a caller's context
// is shorter.
const DefaultTimeout = 30 * time.Second

// ExecRunner runs real processes with a timeout.
type ExecRunner struct {
	Timeout time.Duration
	// Env, when non-nil, replaces the environment of the child.
	Env []string
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, argv []string) (Output, error) {
	if len(argv) == 0 {
		return Output{}, errors.New("run: empty command")
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 2 * time.Second
	if r.Env != nil {
		cmd.Env = r.Env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := Output{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if err == nil {
		return out, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		out.ExitCode = ee.ExitCode()
	} else {
		out.ExitCode = -1
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
		out.ExitCode = -1
	}
	return out, &ExecError{Argv: argv, ExitCode: out.ExitCode, Stderr: string(out.Stderr), Err: err}
}

// LookPath implements Runner.
func (ExecRunner) LookPath(name string) (string, error) { return exec.LookPath(name) }
