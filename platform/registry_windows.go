//go:build windows

package platform

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// WinRegistry is the real registry through golang.org/x/sys/windows/registry.
// Every call opens the key with the WOW64 flag of the requested view.
type WinRegistry struct {
	// deleteKeyEx is advapi32!RegDeleteKeyExW: x/sys only wraps
	// RegDeleteKeyW, which cannot address the 32-bit view.
	deleteKeyEx *windows.LazyProc
}

// NewRegistry returns the real registry.
func NewRegistry() (Registry, error) {
	return &WinRegistry{deleteKeyEx: windows.NewLazySystemDLL("advapi32.dll").NewProc("RegDeleteKeyExW")}, nil
}

func rootKey(r Root) (registry.Key, error) {
	switch r {
	case LocalMachine:
		return registry.LOCAL_MACHINE, nil
	case CurrentUser:
		return registry.CURRENT_USER, nil
	}
	return 0, fmt.Errorf("registry: unknown root %v", r)
}

func viewFlag(v View) uint32 {
	if v == View32 {
		return registry.WOW64_32KEY
	}
	return registry.WOW64_64KEY
}

// mapErr turns x/sys errors into the package sentinels and names the key.
func mapErr(op string, root Root, view View, key, name string, err error) error {
	if err == nil {
		return nil
	}
	where := KeyPath(root, view, key)
	if name != "" {
		where += ` [` + name + `]`
	}
	switch {
	case errors.Is(err, registry.ErrNotExist):
		return fmt.Errorf("%s %s: %w", op, where, ErrNotExist)
	case errors.Is(err, registry.ErrUnexpectedType):
		return fmt.Errorf("%s %s: %w", op, where, ErrUnexpectedType)
	}
	return fmt.Errorf("%s %s: %w", op, where, err)
}

func (w *WinRegistry) open(root Root, view View, key string, access uint32) (registry.Key, error) {
	rk, err := rootKey(root)
	if err != nil {
		return 0, err
	}
	return registry.OpenKey(rk, strings.Trim(key, `\`), access|viewFlag(view))
}

// GetDWORD implements Registry.
func (w *WinRegistry) GetDWORD(root Root, view View, key, name string) (uint32, error) {
	k, err := w.open(root, view, key, registry.QUERY_VALUE)
	if err != nil {
		return 0, mapErr("read", root, view, key, name, err)
	}
	defer k.Close()
	v, typ, err := k.GetIntegerValue(name)
	if err != nil {
		return 0, mapErr("read", root, view, key, name, err)
	}
	if typ != registry.DWORD {
		return 0, mapErr("read", root, view, key, name, fmt.Errorf("type %d: %w", typ, ErrUnexpectedType))
	}
	return uint32(v), nil
}

// GetString implements Registry.
func (w *WinRegistry) GetString(root Root, view View, key, name string) (string, error) {
	k, err := w.open(root, view, key, registry.QUERY_VALUE)
	if err != nil {
		return "", mapErr("read", root, view, key, name, err)
	}
	defer k.Close()
	v, _, err := k.GetStringValue(name)
	if err != nil {
		return "", mapErr("read", root, view, key, name, err)
	}
	return v, nil
}

// SetDWORD implements Registry.
func (w *WinRegistry) SetDWORD(root Root, view View, key, name string, v uint32) error {
	rk, err := rootKey(root)
	if err != nil {
		return err
	}
	k, _, err := registry.CreateKey(rk, strings.Trim(key, `\`), registry.SET_VALUE|registry.QUERY_VALUE|viewFlag(view))
	if err != nil {
		return mapErr("write", root, view, key, name, err)
	}
	defer k.Close()
	return mapErr("write", root, view, key, name, k.SetDWordValue(name, v))
}

// DeleteValue implements Registry.
func (w *WinRegistry) DeleteValue(root Root, view View, key, name string) error {
	k, err := w.open(root, view, key, registry.SET_VALUE)
	if err != nil {
		return mapErr("delete", root, view, key, name, err)
	}
	defer k.Close()
	return mapErr("delete", root, view, key, name, k.DeleteValue(name))
}

// CreateKey implements Registry.
func (w *WinRegistry) CreateKey(root Root, view View, key string) (bool, error) {
	rk, err := rootKey(root)
	if err != nil {
		return false, err
	}
	k, existed, err := registry.CreateKey(rk, strings.Trim(key, `\`), registry.QUERY_VALUE|viewFlag(view))
	if err != nil {
		return false, mapErr("create", root, view, key, "", err)
	}
	k.Close()
	return existed, nil
}

// DeleteKey implements Registry.
func (w *WinRegistry) DeleteKey(root Root, view View, key string) error {
	key = strings.Trim(key, `\`)
	parent, child := ParentKey(key), key[strings.LastIndex(key, `\`)+1:]
	if child == "" || parent == "" {
		return fmt.Errorf("delete %s: refusing to delete a top-level key", KeyPath(root, view, key))
	}
	// RegDeleteKeyEx deletes keys with subkeys only on some Windows versions
	// (it fails with access denied on others); check so the contract holds
	// everywhere.
	subs, err := w.SubKeyNames(root, view, key)
	if err != nil {
		return err
	}
	if len(subs) > 0 {
		return fmt.Errorf("delete %s: key has subkeys", KeyPath(root, view, key))
	}
	p, err := w.open(root, view, parent, registry.ENUMERATE_SUB_KEYS|registry.QUERY_VALUE)
	if err != nil {
		return mapErr("delete", root, view, key, "", err)
	}
	defer p.Close()
	name, err := syscall.UTF16PtrFromString(child)
	if err != nil {
		return err
	}
	if err := w.deleteKeyEx.Find(); err != nil {
		return fmt.Errorf("delete %s: %w", KeyPath(root, view, key), err)
	}
	r, _, _ := w.deleteKeyEx.Call(uintptr(p), uintptr(unsafe.Pointer(name)), uintptr(viewFlag(view)), 0)
	if r != 0 {
		return mapErr("delete", root, view, key, "", syscall.Errno(r))
	}
	return nil
}

// KeyExists implements Registry.
func (w *WinRegistry) KeyExists(root Root, view View, key string) (bool, error) {
	k, err := w.open(root, view, key, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, mapErr("open", root, view, key, "", err)
	}
	k.Close()
	return true, nil
}

// ValueNames implements Registry.
func (w *WinRegistry) ValueNames(root Root, view View, key string) ([]string, error) {
	k, err := w.open(root, view, key, registry.QUERY_VALUE)
	if err != nil {
		return nil, mapErr("list", root, view, key, "", err)
	}
	defer k.Close()
	names, err := k.ReadValueNames(-1)
	return names, mapErr("list", root, view, key, "", err)
}

// SubKeyNames implements Registry.
func (w *WinRegistry) SubKeyNames(root Root, view View, key string) ([]string, error) {
	k, err := w.open(root, view, key, registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil, mapErr("list", root, view, key, "", err)
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	return names, mapErr("list", root, view, key, "", err)
}
