// Package platformtest holds in-memory fakes of the platform interfaces for
// tests: a scripted command runner (and, added by their owners, a map
// registry and a recording service manager).
package platformtest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Runner answers commands from a script keyed by the space-joined argv and
// records every call. Unknown commands fail as "not found".
type Runner struct {
	mu     sync.Mutex
	Script map[string]platform.Output
	Paths  map[string]string // LookPath answers: name -> path
	Calls  [][]string
}

// Run implements platform.Runner.
func (r *Runner) Run(_ context.Context, argv []string) (platform.Output, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Calls = append(r.Calls, append([]string(nil), argv...))
	key := strings.Join(argv, " ")
	out, ok := r.Script[key]
	if !ok {
		return platform.Output{ExitCode: -1}, &platform.ExecError{Argv: argv, ExitCode: -1, Err: fmt.Errorf("%s: %w", argv[0], exec.ErrNotFound)}
	}
	if out.ExitCode != 0 {
		return out, &platform.ExecError{Argv: argv, ExitCode: out.ExitCode, Stderr: string(out.Stderr)}
	}
	return out, nil
}

// LookPath implements platform.Runner.
func (r *Runner) LookPath(name string) (string, error) {
	if p, ok := r.Paths[name]; ok {
		return p, nil
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}
