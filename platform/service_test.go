//go:build unix

package platform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
)

func TestServicesReload(t *testing.T) {
	// A rooted FS with executable init scripts for nginx and apache2.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/init.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{"nginx": 0o755, "apache2": 0o755, "httpd": 0o644} {
		if err := os.WriteFile(filepath.Join(root, "etc/init.d", name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	withScripts := platform.NewOSFS(root)
	noScripts := platform.NewOSFS(t.TempDir())
	nginx := platform.Service{Kind: "nginx", Binary: "/usr/sbin/nginx", Main: "/etc/nginx/nginx.conf"}
	ok := platform.Output{}
	fail := platform.Output{ExitCode: 3}

	tests := []struct {
		name     string
		svc      platform.Service
		action   platform.ServiceAction
		fs       platform.FS
		paths    map[string]string
		script   map[string]platform.Output
		methods  []string
		want     []string
		wantMeth string
		wantErr  bool
	}{
		{
			name: "systemd active", svc: nginx, action: platform.ActionReload, fs: withScripts,
			paths:  map[string]string{"systemctl": "/usr/bin/systemctl"},
			script: map[string]platform.Output{"/usr/bin/systemctl is-active --quiet nginx": ok, "/usr/bin/systemctl reload nginx": ok},
			want:   []string{"/usr/bin/systemctl", "reload", "nginx"}, wantMeth: platform.MethodSystemd,
		},
		{
			name: "systemd restart of the second apache unit", svc: platform.Service{Kind: "apache", Binary: "apachectl"}, action: platform.ActionRestart, fs: noScripts,
			paths: map[string]string{"systemctl": "/usr/bin/systemctl"},
			script: map[string]platform.Output{"/usr/bin/systemctl is-active --quiet apache2": fail,
				"/usr/bin/systemctl is-active --quiet httpd": ok, "/usr/bin/systemctl restart httpd": ok},
			want: []string{"/usr/bin/systemctl", "restart", "httpd"}, wantMeth: platform.MethodSystemd,
		},
		{
			name: "systemd inactive falls back to SysV", svc: nginx, action: platform.ActionReload, fs: withScripts,
			paths:  map[string]string{"systemctl": "/usr/bin/systemctl"},
			script: map[string]platform.Output{"/usr/bin/systemctl is-active --quiet nginx": fail, "/etc/init.d/nginx reload": ok},
			want:   []string{"/etc/init.d/nginx", "reload"}, wantMeth: platform.MethodSysV,
		},
		{
			name: "OpenRC when rc-service exists", svc: nginx, action: platform.ActionReload, fs: withScripts,
			paths:  map[string]string{"rc-service": "/sbin/rc-service"},
			script: map[string]platform.Output{"/sbin/rc-service nginx reload": ok},
			want:   []string{"/sbin/rc-service", "nginx", "reload"}, wantMeth: platform.MethodOpenRC,
		},
		{
			name: "no manager: nginx binary", svc: nginx, action: platform.ActionReload, fs: noScripts,
			script: map[string]platform.Output{"/usr/sbin/nginx -s reload -c /etc/nginx/nginx.conf": ok},
			want:   []string{"/usr/sbin/nginx", "-s", "reload", "-c", "/etc/nginx/nginx.conf"}, wantMeth: platform.MethodBinary,
		},
		{
			name: "non-executable init script is skipped; httpd binary gets -f", svc: platform.Service{Kind: "apache", Binary: "/usr/sbin/httpd", Main: "/etc/httpd/conf/httpd.conf", Units: []string{"httpd"}},
			action: platform.ActionReload, fs: withScripts,
			script: map[string]platform.Output{"/usr/sbin/httpd -k graceful -f /etc/httpd/conf/httpd.conf": ok},
			want:   []string{"/usr/sbin/httpd", "-k", "graceful", "-f", "/etc/httpd/conf/httpd.conf"}, wantMeth: platform.MethodBinary,
		},
		{
			name: "apachectl graceful without -f", svc: platform.Service{Kind: "apache", Binary: "/usr/sbin/apache2ctl", Main: "/etc/apache2/apache2.conf"},
			action: platform.ActionReload, fs: nil,
			script: map[string]platform.Output{"/usr/sbin/apache2ctl -k graceful": ok},
			want:   []string{"/usr/sbin/apache2ctl", "-k", "graceful"}, wantMeth: platform.MethodBinary,
		},
		{
			name: "reload command fails", svc: nginx, action: platform.ActionReload, fs: withScripts,
			paths:  map[string]string{"systemctl": "/usr/bin/systemctl"},
			script: map[string]platform.Output{"/usr/bin/systemctl is-active --quiet nginx": ok, "/usr/bin/systemctl reload nginx": {ExitCode: 1, Stderr: []byte("Job for nginx.service failed")}},
			want:   []string{"/usr/bin/systemctl", "reload", "nginx"}, wantMeth: platform.MethodSystemd, wantErr: true,
		},
		{
			name: "methods restricted to the binary", svc: nginx, action: platform.ActionReload, fs: withScripts, methods: []string{platform.MethodBinary},
			paths:  map[string]string{"systemctl": "/usr/bin/systemctl"},
			script: map[string]platform.Output{"/usr/sbin/nginx -s reload -c /etc/nginx/nginx.conf": ok},
			want:   []string{"/usr/sbin/nginx", "-s", "reload", "-c", "/etc/nginx/nginx.conf"}, wantMeth: platform.MethodBinary,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &platformtest.Runner{Script: tt.script, Paths: tt.paths}
			m := platform.Services{Runner: r, FS: tt.fs, Methods: tt.methods}
			res, err := m.Reload(context.Background(), tt.svc, tt.action)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, res.Argv); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
			if res.Method != tt.wantMeth {
				t.Errorf("method %q, want %q", res.Method, tt.wantMeth)
			}
			if last := r.Calls[len(r.Calls)-1]; !cmp.Equal(last, tt.want) {
				t.Errorf("last command run %v, want %v", last, tt.want)
			}
		})
	}
}

func TestServicesNothingToReload(t *testing.T) {
	m := platform.Services{Runner: &platformtest.Runner{}}
	_, err := m.Reload(context.Background(), platform.Service{Kind: "nginx"}, platform.ActionReload)
	if !errors.Is(err, platform.ErrNoServiceManager) {
		t.Fatalf("err = %v, want ErrNoServiceManager", err)
	}
	if _, err := m.Reload(context.Background(), platform.Service{Kind: "nginx", Binary: "nginx"}, "stop"); err == nil {
		t.Fatal("unknown action accepted")
	}
}
