//go:build windows

package platform_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/windows/registry"

	"github.com/tlsfloor/tlsfloor/platform"
	"github.com/tlsfloor/tlsfloor/platform/platformtest"
	"github.com/tlsfloor/tlsfloor/platform/registrytest"
)

// TestRealRegistryContract runs the contract against the live registry. It
// writes only below randomly named keys and removes them; under Wine (see
// testdata/wine/e2e.sh) it needs no elevation.
func TestRealRegistryContract(t *testing.T) {
	// The contract writes below HKLM. Wine lets anyone do that; real
	// Windows needs an elevated prompt.
	ok, err := platform.NewElevation().Elevated()
	platformtest.Require(t, err == nil && ok, "the registry contract writes HKLM and needs an elevated prompt")
	reg, err := platform.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	registrytest.Run(t, registrytest.Target{
		Reg: reg,
		SetString: func(root platform.Root, view platform.View, key, name, s string) error {
			rk := registry.LOCAL_MACHINE
			if root == platform.CurrentUser {
				rk = registry.CURRENT_USER
			}
			flag := uint32(registry.WOW64_64KEY)
			if view == platform.View32 {
				flag = registry.WOW64_32KEY
			}
			k, _, err := registry.CreateKey(rk, strings.Trim(key, `\`), registry.SET_VALUE|flag)
			if err != nil {
				return err
			}
			defer k.Close()
			return k.SetStringValue(name, s)
		},
	})
}

// TestElevationAnswers only checks that the token query works; whether the
// answer is true depends on how the test was started.
func TestElevationAnswers(t *testing.T) {
	ok, err := platform.NewElevation().Elevated()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("elevated: %v", ok)
}
