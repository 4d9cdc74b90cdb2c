package platform_test

import (
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/platform/registrytest"
)

func TestFakeRegistryContract(t *testing.T) {
	fake := platformtest.NewRegistry()
	// Cleanups run last-in first-out: this check runs after the contract's
	// own cleanup has removed its keys.
	t.Cleanup(func() {
		if d := fake.Dump(); strings.Contains(d, "tlsfloor-contract") {
			t.Errorf("contract left keys behind:\n%s", d)
		}
	})
	registrytest.Run(t, registrytest.Target{
		Reg: fake,
		SetString: func(root platform.Root, view platform.View, key, name, s string) error {
			fake.SetString(root, view, key, name, s)
			return nil
		},
	})
}

func TestPhysicalKey(t *testing.T) {
	tests := []struct {
		root platform.Root
		view platform.View
		key  string
		want string
	}{
		{platform.LocalMachine, platform.View64, `SOFTWARE\Microsoft\.NETFramework`, `SOFTWARE\Microsoft\.NETFramework`},
		{platform.LocalMachine, platform.View32, `SOFTWARE\Microsoft\.NETFramework`, `SOFTWARE\Wow6432Node\Microsoft\.NETFramework`},
		{platform.LocalMachine, platform.View32, `software\Wow6432Node\X`, `software\Wow6432Node\X`},
		{platform.LocalMachine, platform.View32, `SOFTWARE`, `SOFTWARE\Wow6432Node`},
		{platform.LocalMachine, platform.View32, `SYSTEM\CurrentControlSet`, `SYSTEM\CurrentControlSet`},
		{platform.CurrentUser, platform.View32, `Software\Microsoft`, `Software\Microsoft`},
		{platform.LocalMachine, platform.View32, `SOFTWAREX\A`, `SOFTWAREX\A`},
	}
	for _, tt := range tests {
		if got := platform.PhysicalKey(tt.root, tt.view, tt.key); got != tt.want {
			t.Errorf("PhysicalKey(%v, %v, %q) = %q, want %q", tt.root, tt.view, tt.key, got, tt.want)
		}
	}
	if got := platform.KeyPath(platform.LocalMachine, platform.View32, `SOFTWARE\A`); got != `HKLM\SOFTWARE\Wow6432Node\A` {
		t.Errorf("KeyPath = %q", got)
	}
}
