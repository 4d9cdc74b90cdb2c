package platform

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
)

// ServiceAction is what to do to a running server.
type ServiceAction string

// Service actions.
const (
	ActionReload  ServiceAction = "reload"  // re-read the config, keep connections (graceful)
	ActionRestart ServiceAction = "restart" // stop and start
)

// Service is a web server to reload: its kind ("nginx" or "apache"), the
// binary used for its config test, and its main config (host path).
type Service struct {
	Kind   string
	Binary string
	Main   string
	// Units overrides the service names tried (default nginx; apache2,
	// httpd).
	Units []string
}

// ServiceResult says how a service was reloaded.
type ServiceResult struct {
	Method string // "systemd", "openrc", "sysv" or "binary"
	Argv   []string
	Output string
}

// ServiceManager reloads or restarts a server through whatever manages it.
type ServiceManager interface {
	Reload(ctx context.Context, s Service, action ServiceAction) (ServiceResult, error)
}

// Service manager methods, in the order Services tries them.
const (
	MethodSystemd = "systemd"
	MethodOpenRC  = "openrc"
	MethodSysV    = "sysv"
	MethodBinary  = "binary"
)

// Services is the real ServiceManager: systemd when the unit is active,
// else an OpenRC or SysV init script, else the server binary itself
// (nginx -s reload, apachectl -k graceful).
type Services struct {
	Runner Runner
	// FS finds init scripts (/etc/init.d/NAME); nil skips OpenRC and SysV.
	FS FS
	// Methods restricts and orders the methods tried (default all four).
	Methods []string
}

// ErrNoServiceManager means no method could reload the service.
var ErrNoServiceManager = errors.New("no way to reload the service was found")

func (s Service) units() []string {
	if len(s.Units) > 0 {
		return s.Units
	}
	switch s.Kind {
	case "nginx":
		return []string{"nginx"}
	case "apache":
		return []string{"apache2", "httpd"}
	}
	return nil
}

// Reload implements ServiceManager.
func (m Services) Reload(ctx context.Context, s Service, action ServiceAction) (ServiceResult, error) {
	if action != ActionReload && action != ActionRestart {
		return ServiceResult{}, fmt.Errorf("service: unknown action %q", action)
	}
	methods := m.Methods
	if len(methods) == 0 {
		methods = []string{MethodSystemd, MethodOpenRC, MethodSysV, MethodBinary}
	}
	for _, method := range methods {
		argv, err := m.choose(ctx, method, s, action)
		if err != nil {
			return ServiceResult{Method: method}, err
		}
		if argv == nil {
			continue
		}
		out, err := m.Runner.Run(ctx, argv)
		res := ServiceResult{Method: method, Argv: argv, Output: strings.TrimSpace(string(out.Stdout) + string(out.Stderr))}
		if err != nil {
			return res, fmt.Errorf("%s %s: %w", s.Kind, action, err)
		}
		return res, nil
	}
	return ServiceResult{}, fmt.Errorf("%s %s: %w", s.Kind, action, ErrNoServiceManager)
}

// choose returns the command for one method, or nil when the method does
// not manage this service here.
func (m Services) choose(ctx context.Context, method string, s Service, action ServiceAction) ([]string, error) {
	switch method {
	case MethodSystemd:
		systemctl, err := m.Runner.LookPath("systemctl")
		if err != nil {
			return nil, nil
		}
		for _, u := range s.units() {
			// is-active exits 0 only for an active unit; "inactive",
			// "unknown" and a system not booted with systemd all fail.
			if _, err := m.Runner.Run(ctx, []string{systemctl, "is-active", "--quiet", u}); err == nil {
				return []string{systemctl, string(action), u}, nil
			}
		}
	case MethodOpenRC, MethodSysV:
		if m.FS == nil {
			return nil, nil
		}
		rc, rcErr := m.Runner.LookPath("rc-service")
		if (method == MethodOpenRC) != (rcErr == nil) {
			// OpenRC and SysV both keep scripts in /etc/init.d; rc-service
			// on PATH tells them apart.
			return nil, nil
		}
		for _, u := range s.units() {
			script := "/etc/init.d/" + u
			fi, err := m.FS.Stat(script)
			if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				continue
			}
			if method == MethodOpenRC {
				return []string{rc, u, string(action)}, nil
			}
			return []string{script, string(action)}, nil
		}
	case MethodBinary:
		return binaryArgv(s, action)
	default:
		return nil, fmt.Errorf("service: unknown method %q", method)
	}
	return nil, nil
}

// binaryArgv asks the server binary itself to reload.
func binaryArgv(s Service, action ServiceAction) ([]string, error) {
	if s.Binary == "" {
		return nil, nil
	}
	switch s.Kind {
	case "nginx":
		// nginx has no restart signal; reload re-reads the config and
		// starts new workers, which is what a protocol change needs.
		argv := []string{s.Binary, "-s", "reload"}
		if s.Main != "" {
			argv = append(argv, "-c", s.Main)
		}
		return argv, nil
	case "apache":
		k := "graceful"
		if action == ActionRestart {
			k = "restart"
		}
		argv := []string{s.Binary, "-k", k}
		// apachectl/apache2ctl find their config through envvars; httpd
		// needs the main file when it is not the compiled-in default.
		if base := path.Base(strings.ReplaceAll(s.Binary, `\`, "/")); s.Main != "" && !strings.HasSuffix(base, "ctl") {
			argv = append(argv, "-f", s.Main)
		}
		return argv, nil
	}
	return nil, fmt.Errorf("service: unknown server kind %q", s.Kind)
}
