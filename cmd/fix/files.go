package fix

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tlsfloor/tlsfloor/audit"
	auditCmd "github.com/tlsfloor/tlsfloor/cmd/audit"
	"github.com/tlsfloor/tlsfloor/cmd/cmdutil"
	"github.com/tlsfloor/tlsfloor/remediate"
	"github.com/tlsfloor/tlsfloor/remediate/apachefix"
	"github.com/tlsfloor/tlsfloor/remediate/diff"
	"github.com/tlsfloor/tlsfloor/remediate/nginxfix"
	"github.com/tlsfloor/tlsfloor/remediate/txn"
)

// filesJSONVersion versions fix's JSON output.
const filesJSONVersion = 1

// PlanFiles audits nginx and Apache (those only selects; nil: both) on the
// host env describes and plans the fix. The plan is empty when there is
// nothing to change. A file that cannot be read or edited with certainty is
// an *audit.ConfigError and nothing is planned for any file.
func PlanFiles(ctx context.Context, env *audit.Env, pol remediate.Policy, only cmdutil.Components) (*remediate.Plan, error) {
	var disk func(string) string
	if r, ok := env.FS.(interface{ Real(string) string }); ok {
		disk = r.Real
	}
	var np, ap *remediate.Plan
	var err error
	if only.Has("nginx") {
		if _, np, err = nginxfix.Analyze(ctx, env, nginxfix.Options{Policy: pol, DiskPath: disk}); err != nil {
			return nil, err
		}
	}
	if only.Has("apache") {
		if _, ap, err = apachefix.Analyze(ctx, env, apachefix.Options{Policy: pol, DiskPath: disk}); err != nil {
			return nil, err
		}
	}
	plan := &remediate.Plan{}
	for _, p := range []*remediate.Plan{np, ap} {
		if p == nil || p.Empty() {
			continue
		}
		plan.Files = append(plan.Files, p.Files...)
		plan.Servers = append(plan.Servers, p.Servers...)
		plan.Notes = append(plan.Notes, p.Notes...)
	}
	// nginx and Apache sharing a file would be a broken host; refuse rather
	// than plan two change sets against the same bytes.
	seen := map[string]string{}
	for _, fc := range plan.Files {
		if other, dup := seen[fc.RealPath]; dup {
			return nil, audit.Errorf(fc.Path, 0, "also planned as %s: nginx and Apache read the same file", other)
		}
		seen[fc.RealPath] = fc.Path
	}
	return plan, nil
}

// policy turns the flags into what the fix writes.
func (opts *Options) policy() remediate.Policy {
	mode := remediate.TLS13Mode(opts.TLS13)
	if mode == "" {
		mode = remediate.TLS13Auto
	}
	min := opts.MinVersion
	if min == 0 {
		min = audit.TLS12
	}
	return remediate.Policy{Min: min, TLS13: mode}
}

// runFiles fixes nginx and Apache configuration files: plan, diff first,
// then dry-run, confirm, or apply as one transaction.
func runFiles(ctx context.Context, opts *Options) error {
	f := opts.Factory
	pol := opts.policy()
	env := auditCmd.NewEnv(f, opts.Discovery, audit.Policy{MinProtocol: pol.Min, FailOn: audit.Medium})
	plan, err := PlanFiles(ctx, env, pol, opts.Only)
	if err != nil {
		if audit.IsConfigError(err) {
			return cmdutil.Exit(cmdutil.ExitUsage, err)
		}
		return err
	}
	d, err := diff.Plan(plan)
	if err != nil {
		return err
	}
	out := &filesJSON{SchemaVersion: filesJSONVersion, Plan: newFilesJSONPlan(plan), Diff: string(d), Changed: !plan.Empty()}
	text := opts.Format != cmdutil.FormatJSON
	if text {
		if plan.Empty() {
			fmt.Fprintln(f.IO.Out, "nothing to change")
		} else {
			_, _ = f.IO.Out.Write(d)
		}
		for _, n := range plan.Notes {
			fmt.Fprintln(f.IO.ErrOut, "note: "+n)
		}
	}
	if plan.Empty() {
		return finishFiles(f.IO.Out, text, out, nil)
	}
	if opts.DryRun {
		return finishFiles(f.IO.Out, text, out, cmdutil.Exit(cmdutil.ExitNonCompliant, nil))
	}
	deps := txn.Deps{FS: f.Writer(opts.Discovery.Root), Runner: f.Runner, Out: f.IO.ErrOut}
	// Before asking: a file this process cannot replace fails now (exit 2).
	if err := txn.Preflight(deps.FS, plan); err != nil {
		out.Error = err.Error()
		return finishFiles(f.IO.Out, text, out, cmdutil.Exit(cmdutil.ExitUsage, err))
	}
	if !opts.Yes {
		ok, err := confirmFiles(ctx, f.IO)
		if err != nil {
			return finishFiles(f.IO.Out, text, out, cmdutil.Exit(cmdutil.ExitNonCompliant, err))
		}
		if !ok {
			if ctx.Err() != nil {
				fmt.Fprint(f.IO.ErrOut, "interrupted: ")
			}
			fmt.Fprintln(f.IO.ErrOut, "not applied: nothing was changed")
			return finishFiles(f.IO.Out, text, out, cmdutil.Exit(cmdutil.ExitNonCompliant, nil))
		}
	}

	if opts.Reload || opts.Restart {
		deps.Services = f.ServiceManager()
	}
	topt := txn.Options{BackupDir: opts.BackupDir, Reload: opts.Reload, Restart: opts.Restart,
		Root: opts.Discovery.Root, Now: f.Now}
	if opts.Verify {
		// Prove the change twice: the written configuration audits clean,
		// and, after the reload, live handshakes on every listener the change
		// covers refuse the legacy protocols and still accept what worked.
		var lc *liveCheck
		if opts.Discovery.Rooted() {
			fmt.Fprintln(f.IO.ErrOut, "note: --root is set: the servers under it are not running here; verifying the configuration only")
		} else {
			lc = newLiveCheck(ctx, f.Prober(), probeTargets(plan, 5*time.Second), f.IO.ErrOut)
			lc.settle = opts.verifySettle
		}
		topt.Verify = func(ctx context.Context) error {
			if err := verifyConfig(ctx, opts, pol); err != nil {
				return err
			}
			if lc != nil {
				return lc.verify(ctx)
			}
			return nil
		}
	}
	res, err := txn.Apply(ctx, deps, plan, topt)
	out.Result, out.Applied = res, err == nil
	if err == nil {
		if text {
			fmt.Fprintf(f.IO.ErrOut, "applied; backup %s (undo: tlsfloor rollback %s)\n", res.BackupPath, res.BackupID)
		}
		return finishFiles(f.IO.Out, text, out, nil)
	}
	out.Error = err.Error()
	var rb *txn.RolledBackError
	var rf *txn.RollbackFailedError
	var nw *txn.NotWritableError
	switch {
	case errors.As(err, &nw):
		return finishFiles(f.IO.Out, text, out, cmdutil.Exit(cmdutil.ExitUsage, err))
	case errors.As(err, &rf):
		return finishFiles(f.IO.Out, text, out, cmdutil.Exit(cmdutil.ExitRollbackFailed, err))
	case errors.As(err, &rb):
		if text && rb.Output != "" {
			fmt.Fprintln(f.IO.ErrOut, rb.Output)
		}
		return finishFiles(f.IO.Out, text, out, cmdutil.Exit(cmdutil.ExitRolledBack, err))
	}
	return finishFiles(f.IO.Out, text, out, err)
}

// verifyConfig audits the written configuration again.
func verifyConfig(ctx context.Context, opts *Options, pol remediate.Policy) error {
	env := auditCmd.NewEnv(opts.Factory, opts.Discovery, audit.Policy{MinProtocol: pol.Min, FailOn: audit.Medium})
	plan, err := PlanFiles(ctx, env, pol, opts.Only)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if !plan.Empty() {
		return fmt.Errorf("verify: the written configuration still needs %d file change(s)", len(plan.Files))
	}
	return nil
}

// finishFiles writes the JSON document (in JSON mode) and returns err.
func finishFiles(w io.Writer, text bool, out *filesJSON, err error) error {
	if text {
		return err
	}
	if jerr := cmdutil.WriteJSON(w, out); jerr != nil && err == nil {
		return fmt.Errorf("write json: %w", jerr)
	}
	return err
}

// confirmFiles asks on the terminal. Without a terminal it refuses: a fix never
// applies silently unless --yes says so.
func confirmFiles(ctx context.Context, io *cmdutil.IOStreams) (bool, error) {
	if !io.InTTY {
		return false, errors.New("not applied: no terminal to confirm on; run with --yes to apply, or --dry-run to only show the diff")
	}
	return askYes(ctx, io.In, io.ErrOut, "Apply these changes? [y/N] "), nil
}

// askYes prints question and reports whether the answer read from in is y
// or yes. A cancelled ctx (Ctrl-C: fix catches SIGINT so that it can
// restore files) while it waits is a no, so the prompt never outlives the
// user's wish to leave; the goroutine left reading in ends with the process.
func askYes(ctx context.Context, in io.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		if line == "" {
			fmt.Fprintln(out) // end of input: finish the prompt's line
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true
		}
		return false
	case <-ctx.Done():
		fmt.Fprintln(out)
		return false
	}
}

// filesJSON is fix's JSON document.
type filesJSON struct {
	SchemaVersion int           `json:"schema_version"`
	Changed       bool          `json:"changed"`
	Applied       bool          `json:"applied"`
	Plan          filesJSONPlan `json:"plan"`
	Diff          string        `json:"diff"`
	Result        *txn.Result   `json:"result,omitempty"`
	Error         string        `json:"error,omitempty"`
}

type filesJSONPlan struct {
	Files   []filesJSONFile   `json:"files"`
	Servers []filesJSONServer `json:"servers"`
	Notes   []string          `json:"notes"`
}

type filesJSONFile struct {
	Path     string          `json:"path"`
	RealPath string          `json:"real_path"`
	Edits    []filesJSONEdit `json:"edits"`
}

type filesJSONEdit struct {
	Location string `json:"location"` // path:line
	Line     int    `json:"line"`
	Start    int    `json:"start"`
	End      int    `json:"end"`
	New      string `json:"new"`
	Reason   string `json:"reason"`
}

type filesJSONServer struct {
	Kind      string   `json:"kind"`
	Main      string   `json:"main"`
	TestArgv  []string `json:"test_argv"`
	Listeners []string `json:"listeners"`
}

func newFilesJSONPlan(p *remediate.Plan) filesJSONPlan {
	out := filesJSONPlan{Files: []filesJSONFile{}, Servers: []filesJSONServer{}, Notes: append([]string{}, p.Notes...)}
	for _, fc := range p.Files {
		jf := filesJSONFile{Path: fc.Path, RealPath: fc.RealPath, Edits: []filesJSONEdit{}}
		for _, e := range fc.Edits {
			jf.Edits = append(jf.Edits, filesJSONEdit{Location: fmt.Sprintf("%s:%d", fc.Path, e.Line), Line: e.Line,
				Start: e.Start, End: e.End, New: e.New, Reason: e.Reason})
		}
		out.Files = append(out.Files, jf)
	}
	for _, s := range p.Servers {
		js := filesJSONServer{Kind: s.Kind, Main: s.Main, TestArgv: s.TestArgv, Listeners: s.Listeners}
		if js.TestArgv == nil {
			js.TestArgv = []string{}
		}
		if js.Listeners == nil {
			js.Listeners = []string{}
		}
		out.Servers = append(out.Servers, js)
	}
	return out
}
