// Package registrytest holds the contract every platform.Registry must
// honour, as one test function. platform's tests run it against the
// in-memory fake on every OS and against the real registry on Windows (and
// under Wine), so the fake cannot drift from the behaviour it stands for.
package registrytest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tlsfloor/tlsfloor/platform"
)

// Target is the implementation under test.
type Target struct {
	Reg platform.Registry
	// SetString writes a REG_SZ value, for the wrong-type case; nil skips it.
	SetString func(root platform.Root, view platform.View, key, name, s string) error
}

// Run checks the contract. It works below fresh, randomly named keys under
// HKLM\SOFTWARE, HKLM\SYSTEM and HKCU\Software and deletes them at the end,
// so it can run against a live registry.
func Run(t *testing.T, tg Target) {
	t.Helper()
	reg := tg.Reg
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	leaf := "tlsfloor-contract-" + hex.EncodeToString(b[:])
	soft := `SOFTWARE\` + leaf
	sys := `SYSTEM\CurrentControlSet\Control\` + leaf
	user := `Software\` + leaf
	t.Cleanup(func() {
		for _, c := range []struct {
			root platform.Root
			view platform.View
			key  string
		}{{platform.LocalMachine, platform.View64, soft}, {platform.LocalMachine, platform.View32, soft}, {platform.LocalMachine, platform.View64, sys}, {platform.CurrentUser, platform.View64, user}} {
			removeTree(reg, c.root, c.view, c.key)
		}
	})

	t.Run("missing key and value", func(t *testing.T) {
		if _, err := reg.GetDWORD(platform.LocalMachine, platform.View64, soft, "Enabled"); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("GetDWORD on a missing key: err = %v, want ErrNotExist", err)
		}
		if ok, err := reg.KeyExists(platform.LocalMachine, platform.View64, soft); err != nil || ok {
			t.Fatalf("KeyExists(missing) = %v, %v; want false, nil", ok, err)
		}
		if err := reg.DeleteValue(platform.LocalMachine, platform.View64, soft, "Enabled"); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("DeleteValue on a missing key: err = %v, want ErrNotExist", err)
		}
		if err := reg.DeleteKey(platform.LocalMachine, platform.View64, soft+`\a`); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("DeleteKey(missing) = %v, want ErrNotExist", err)
		}
		if _, err := reg.ValueNames(platform.LocalMachine, platform.View64, soft); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("ValueNames(missing) = %v, want ErrNotExist", err)
		}
	})

	t.Run("set creates the path and round-trips", func(t *testing.T) {
		key := sys + `\Protocols\TLS 1.2\Client`
		for _, v := range []uint32{1, 0, 0xffffffff} {
			if err := reg.SetDWORD(platform.LocalMachine, platform.View64, key, "Enabled", v); err != nil {
				t.Fatalf("SetDWORD(%#x): %v", v, err)
			}
			got, err := reg.GetDWORD(platform.LocalMachine, platform.View64, key, "Enabled")
			if err != nil || got != v {
				t.Fatalf("GetDWORD after SetDWORD(%#x) = %#x, %v", v, got, err)
			}
		}
		// Names are case-insensitive, as on Windows.
		got, err := reg.GetDWORD(platform.LocalMachine, platform.View64, strings.ToUpper(key), "ENABLED")
		if err != nil || got != 0xffffffff {
			t.Fatalf("case-insensitive read = %#x, %v", got, err)
		}
		for _, k := range []string{sys, sys + `\Protocols`, sys + `\Protocols\TLS 1.2`} {
			if ok, err := reg.KeyExists(platform.LocalMachine, platform.View64, k); err != nil || !ok {
				t.Fatalf("parent %s not created: %v, %v", k, ok, err)
			}
		}
		if err := reg.SetDWORD(platform.LocalMachine, platform.View64, key, "DisabledByDefault", 0); err != nil {
			t.Fatal(err)
		}
		names, err := reg.ValueNames(platform.LocalMachine, platform.View64, key)
		slices.Sort(names)
		if err != nil || !slices.Equal(names, []string{"DisabledByDefault", "Enabled"}) {
			t.Fatalf("ValueNames = %q, %v", names, err)
		}
		subs, err := reg.SubKeyNames(platform.LocalMachine, platform.View64, sys+`\Protocols`)
		if err != nil || !slices.Equal(subs, []string{"TLS 1.2"}) {
			t.Fatalf("SubKeyNames = %q, %v", subs, err)
		}
	})

	t.Run("delete value", func(t *testing.T) {
		key := sys + `\Protocols\TLS 1.0\Server`
		if err := reg.SetDWORD(platform.LocalMachine, platform.View64, key, "Enabled", 1); err != nil {
			t.Fatal(err)
		}
		if err := reg.DeleteValue(platform.LocalMachine, platform.View64, key, "Enabled"); err != nil {
			t.Fatalf("DeleteValue: %v", err)
		}
		if _, err := reg.GetDWORD(platform.LocalMachine, platform.View64, key, "Enabled"); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("GetDWORD after delete: %v, want ErrNotExist", err)
		}
		if err := reg.DeleteValue(platform.LocalMachine, platform.View64, key, "Enabled"); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("second DeleteValue: %v, want ErrNotExist", err)
		}
		if ok, _ := reg.KeyExists(platform.LocalMachine, platform.View64, key); !ok {
			t.Fatal("deleting the value removed the key")
		}
	})

	t.Run("create and delete keys", func(t *testing.T) {
		key := sys + `\Keys\A\B`
		existed, err := reg.CreateKey(platform.LocalMachine, platform.View64, key)
		if err != nil || existed {
			t.Fatalf("CreateKey(new) = %v, %v; want false, nil", existed, err)
		}
		existed, err = reg.CreateKey(platform.LocalMachine, platform.View64, key)
		if err != nil || !existed {
			t.Fatalf("CreateKey(again) = %v, %v; want true, nil", existed, err)
		}
		if err := reg.DeleteKey(platform.LocalMachine, platform.View64, sys+`\Keys\A`); err == nil {
			t.Fatal("DeleteKey of a key with subkeys succeeded")
		}
		if err := reg.SetDWORD(platform.LocalMachine, platform.View64, key, "V", 7); err != nil {
			t.Fatal(err)
		}
		// A key's own values go with it.
		if err := reg.DeleteKey(platform.LocalMachine, platform.View64, key); err != nil {
			t.Fatalf("DeleteKey(leaf with a value): %v", err)
		}
		if ok, _ := reg.KeyExists(platform.LocalMachine, platform.View64, key); ok {
			t.Fatal("key still exists after DeleteKey")
		}
		if ok, _ := reg.KeyExists(platform.LocalMachine, platform.View64, sys+`\Keys\A`); !ok {
			t.Fatal("DeleteKey removed the parent")
		}
	})

	t.Run("SOFTWARE views are separate", func(t *testing.T) {
		key := soft + `\.NETFramework\v4.0.30319`
		if err := reg.SetDWORD(platform.LocalMachine, platform.View64, key, "SchUseStrongCrypto", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.GetDWORD(platform.LocalMachine, platform.View32, key, "SchUseStrongCrypto"); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("64-bit value visible in the 32-bit view: %v", err)
		}
		if err := reg.SetDWORD(platform.LocalMachine, platform.View32, key, "SchUseStrongCrypto", 0); err != nil {
			t.Fatal(err)
		}
		// The 32-bit view of SOFTWARE\X is SOFTWARE\Wow6432Node\X natively.
		phys := platform.PhysicalKey(platform.LocalMachine, platform.View32, key)
		if got, err := reg.GetDWORD(platform.LocalMachine, platform.View64, phys, "SchUseStrongCrypto"); err != nil || got != 0 {
			t.Fatalf("32-bit value at %s in the native view = %v, %v", phys, got, err)
		}
		if got, err := reg.GetDWORD(platform.LocalMachine, platform.View64, key, "SchUseStrongCrypto"); err != nil || got != 1 {
			t.Fatalf("64-bit value changed by a 32-bit write: %v, %v", got, err)
		}
		if err := reg.DeleteKey(platform.LocalMachine, platform.View32, key); err != nil {
			t.Fatalf("DeleteKey in the 32-bit view: %v", err)
		}
		if ok, _ := reg.KeyExists(platform.LocalMachine, platform.View64, key); !ok {
			t.Fatal("deleting in the 32-bit view removed the 64-bit key")
		}
	})

	t.Run("SYSTEM is shared between views", func(t *testing.T) {
		key := sys + `\Shared`
		if err := reg.SetDWORD(platform.LocalMachine, platform.View32, key, "Enabled", 5); err != nil {
			t.Fatal(err)
		}
		if got, err := reg.GetDWORD(platform.LocalMachine, platform.View64, key, "Enabled"); err != nil || got != 5 {
			t.Fatalf("SYSTEM value written in the 32-bit view, read in the 64-bit view = %v, %v", got, err)
		}
	})

	t.Run("current user", func(t *testing.T) {
		key := user + `\Internet Settings`
		if err := reg.SetDWORD(platform.CurrentUser, platform.View64, key, "SecureProtocols", 0x2800); err != nil {
			t.Fatal(err)
		}
		if got, err := reg.GetDWORD(platform.CurrentUser, platform.View64, key, "SecureProtocols"); err != nil || got != 0x2800 {
			t.Fatalf("HKCU round trip = %#x, %v", got, err)
		}
		if _, err := reg.GetDWORD(platform.LocalMachine, platform.View64, key, "SecureProtocols"); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("HKCU value visible under HKLM: %v", err)
		}
	})

	t.Run("wrong type", func(t *testing.T) {
		if tg.SetString == nil {
			t.Skip("target cannot write REG_SZ")
		}
		key := sys + `\Types`
		if err := tg.SetString(platform.LocalMachine, platform.View64, key, "Enabled", "1"); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.GetDWORD(platform.LocalMachine, platform.View64, key, "Enabled"); !errors.Is(err, platform.ErrUnexpectedType) {
			t.Fatalf("GetDWORD on a REG_SZ: %v, want ErrUnexpectedType", err)
		}
		if got, err := reg.GetString(platform.LocalMachine, platform.View64, key, "Enabled"); err != nil || got != "1" {
			t.Fatalf("GetString on a REG_SZ = %q, %v", got, err)
		}
		if _, err := reg.GetString(platform.LocalMachine, platform.View64, key, "Missing"); !errors.Is(err, platform.ErrNotExist) {
			t.Fatalf("GetString on a missing value: %v, want ErrNotExist", err)
		}
		// Writing a DWORD replaces the wrong type.
		if err := reg.SetDWORD(platform.LocalMachine, platform.View64, key, "Enabled", 1); err != nil {
			t.Fatal(err)
		}
		if got, err := reg.GetDWORD(platform.LocalMachine, platform.View64, key, "Enabled"); err != nil || got != 1 {
			t.Fatalf("after overwrite = %v, %v", got, err)
		}
		if _, err := reg.GetString(platform.LocalMachine, platform.View64, key, "Enabled"); !errors.Is(err, platform.ErrUnexpectedType) {
			t.Fatalf("GetString on a REG_DWORD: %v, want ErrUnexpectedType", err)
		}
	})
}

// removeTree deletes key and everything below it, ignoring errors: it is
// cleanup only.
func removeTree(reg platform.Registry, root platform.Root, view platform.View, key string) {
	subs, _ := reg.SubKeyNames(root, view, key)
	for _, s := range subs {
		removeTree(reg, root, view, key+`\`+s)
	}
	_ = reg.DeleteKey(root, view, key)
}
