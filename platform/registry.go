package platform

import (
	"errors"
	"fmt"
	"strings"
)

// Root is a predefined registry root key.
type Root uint8

// The roots tlsfloor reads and writes.
const (
	LocalMachine Root = iota // HKEY_LOCAL_MACHINE
	CurrentUser              // HKEY_CURRENT_USER
)

// String returns the short spelling used in reports: HKLM or HKCU.
func (r Root) String() string {
	switch r {
	case LocalMachine:
		return "HKLM"
	case CurrentUser:
		return "HKCU"
	}
	return fmt.Sprintf("Root(%d)", uint8(r))
}

// LongName returns the spelling .reg files use: HKEY_LOCAL_MACHINE.
func (r Root) LongName() string {
	switch r {
	case LocalMachine:
		return "HKEY_LOCAL_MACHINE"
	case CurrentUser:
		return "HKEY_CURRENT_USER"
	}
	return r.String()
}

// ParseRoot reads HKLM, HKCU or their long names.
func ParseRoot(s string) (Root, bool) {
	switch strings.ToUpper(s) {
	case "HKLM", "HKEY_LOCAL_MACHINE":
		return LocalMachine, true
	case "HKCU", "HKEY_CURRENT_USER":
		return CurrentUser, true
	}
	return 0, false
}

// View selects the WOW64 registry view. 64-bit Windows keeps a separate
// HKLM\SOFTWARE tree for 32-bit programs (SOFTWARE\Wow6432Node); HKLM\SYSTEM
// is shared. Callers name the view explicitly instead of relying on the
// bitness of the running process.
type View uint8

// Registry views.
const (
	View64 View = iota // the native view (KEY_WOW64_64KEY)
	View32             // the 32-bit view (KEY_WOW64_32KEY)
)

// String returns "64" or "32".
func (v View) String() string {
	if v == View32 {
		return "32"
	}
	return "64"
}

// ErrNotExist is returned for a missing key or value.
var ErrNotExist = errors.New("registry: key or value does not exist")

// ErrUnexpectedType is returned when a value exists with another type than
// the one asked for (a REG_SZ where a REG_DWORD belongs is a known
// real-world mistake).
var ErrUnexpectedType = errors.New("registry: value has an unexpected type")

// ErrUnsupportedPlatform is returned where there is no Windows registry.
var ErrUnsupportedPlatform = errors.New("the Windows registry is not available on this platform")

// Registry is the part of the Windows registry tlsfloor touches: DWORD
// values and the keys that hold them. key is a path below root without a
// leading backslash, e.g. `SYSTEM\CurrentControlSet\Control`. Names compare
// case-insensitively, as on Windows.
type Registry interface {
	// GetDWORD reads a REG_DWORD. A missing key or value gives an error
	// wrapping ErrNotExist; another type gives one wrapping ErrUnexpectedType.
	GetDWORD(root Root, view View, key, name string) (uint32, error)
	// GetString reads a REG_SZ or REG_EXPAND_SZ (unexpanded), with the same
	// errors as GetDWORD.
	GetString(root Root, view View, key, name string) (string, error)
	// SetDWORD writes a REG_DWORD, creating the key and its parents.
	SetDWORD(root Root, view View, key, name string, v uint32) error
	// DeleteValue removes a value; ErrNotExist when it (or its key) is missing.
	DeleteValue(root Root, view View, key, name string) error
	// CreateKey creates key and its parents; existed says it was already there.
	CreateKey(root Root, view View, key string) (existed bool, err error)
	// DeleteKey removes a key and its values. It fails when the key has
	// subkeys, and with ErrNotExist when it is missing.
	DeleteKey(root Root, view View, key string) error
	// KeyExists reports whether key exists.
	KeyExists(root Root, view View, key string) (bool, error)
	// ValueNames lists the value names of key; ErrNotExist when it is missing.
	ValueNames(root Root, view View, key string) ([]string, error)
	// SubKeyNames lists the direct subkeys of key; ErrNotExist when missing.
	SubKeyNames(root Root, view View, key string) ([]string, error)
}

// KeyPath spells a key the way a user finds it in regedit: the root, then
// the path, with the 32-bit view of HKLM\SOFTWARE shown as the
// SOFTWARE\Wow6432Node key it really is.
func KeyPath(root Root, view View, key string) string {
	return root.String() + `\` + PhysicalKey(root, view, key)
}

// PhysicalKey returns the key path as stored in the native view: for the
// 32-bit view of HKLM\SOFTWARE\X it is SOFTWARE\Wow6432Node\X. Other keys
// are shared between the views and come back unchanged.
func PhysicalKey(root Root, view View, key string) string {
	key = strings.Trim(key, `\`)
	if root != LocalMachine || view != View32 {
		return key
	}
	head, rest, _ := strings.Cut(key, `\`)
	if !strings.EqualFold(head, "SOFTWARE") {
		return key
	}
	if r, _, _ := strings.Cut(rest, `\`); strings.EqualFold(r, "Wow6432Node") {
		return key
	}
	if rest == "" {
		return head + `\Wow6432Node`
	}
	return head + `\Wow6432Node\` + rest
}

// ParentKey returns the parent of key ("" for a top-level key).
func ParentKey(key string) string {
	key = strings.Trim(key, `\`)
	if i := strings.LastIndex(key, `\`); i >= 0 {
		return key[:i]
	}
	return ""
}
