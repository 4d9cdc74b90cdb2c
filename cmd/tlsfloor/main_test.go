package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tlsfloor/tlsfloor/cmd/root"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tlsfloor": func() { os.Exit(root.Main()) },
		"nginx":    fakeNginx,
	})
}

// TestScripts runs the end-to-end scripts in testdata/script against the real
// binary (re-executed as a child process by testscript).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *platformtest.Update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"waitfile": cmdWaitFile,
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}

// cmdExits runs a program and checks its exact exit status:
// "exits 3 tlsfloor audit". stdout and stderr are kept for later checks.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		got = ee.ExitCode()
	default:
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdWaitFile waits up to 30 s for a file to appear: "waitfile PATH",
// for a background command to reach a known point.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile PATH")
	}
	path := ts.MkAbs(args[0])
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	ts.Fatalf("waitfile: %s did not appear within 30s", path)
}

// fakeNginx stands in for nginx in scripts: -v/-V print a version to stderr
// as nginx does (FAKE_NGINX_VERSION, default 1.22.1); -t -c FILE fails when
// FILE contains "TLSv1.3" and FAKE_NGINX_REJECT_TLS13 is set (an nginx too old
// for the token), otherwise succeeds; with FAKE_NGINX_BLOCK_TEST=PATH it
// first creates PATH and then hangs for a minute (a test to interrupt);
// -s reload succeeds.
func fakeNginx() {
	version := os.Getenv("FAKE_NGINX_VERSION")
	if version == "" {
		version = "1.22.1"
	}
	args := os.Args[1:]
	for i, a := range args {
		switch a {
		case "-v", "-V":
			fmt.Fprintf(os.Stderr, "nginx version: nginx/%s\n", version)
			if a == "-V" {
				fmt.Fprintln(os.Stderr, "built with OpenSSL 3.5.4 30 Sep 2025")
				fmt.Fprintln(os.Stderr, "configure arguments: --conf-path=/etc/nginx/nginx.conf")
			}
			os.Exit(0)
		case "-t":
			conf := ""
			for j := i; j < len(args)-1; j++ {
				if args[j] == "-c" {
					conf = args[j+1]
				}
			}
			if mark := os.Getenv("FAKE_NGINX_BLOCK_TEST"); mark != "" {
				_ = os.WriteFile(mark, nil, 0o600)
				time.Sleep(time.Minute)
			}
			b, err := os.ReadFile(conf)
			if err != nil {
				fmt.Fprintf(os.Stderr, "nginx: [emerg] open() \"%s\" failed\n", conf)
				os.Exit(1)
			}
			if os.Getenv("FAKE_NGINX_REJECT_TLS13") != "" && bytes.Contains(b, []byte("TLSv1.3")) {
				fmt.Fprintf(os.Stderr, "nginx: [emerg] invalid value \"TLSv1.3\" in %s:3\nnginx: configuration file %s test failed\n", conf, conf)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "nginx: configuration file %s test is successful\n", conf)
			os.Exit(0)
		case "-s":
			os.Exit(0)
		}
	}
	fmt.Fprintln(os.Stderr, "fake nginx: unsupported arguments", args)
	os.Exit(2)
}
