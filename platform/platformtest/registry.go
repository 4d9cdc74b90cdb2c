package platformtest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tlsfloor/tlsfloor/platform"
)

// ErrAccessDenied is what the fake Registry returns for injected failures,
// like ERROR_ACCESS_DENIED from a non-elevated process.
var ErrAccessDenied = errors.New("access is denied")

type regValue struct {
	name  string // as first written
	dword uint32
	str   string
	isStr bool
}

type regKey struct {
	name   string // full physical path as first written
	values map[string]*regValue
}

// Registry is an in-memory platform.Registry. Names are case-insensitive,
// and the 32-bit view of HKLM\SOFTWARE\X lands in SOFTWARE\Wow6432Node\X as
// on 64-bit Windows. The zero value is an empty registry; use NewRegistry.
type Registry struct {
	mu   sync.Mutex
	keys map[string]*regKey // root + "\" + lower(physical path)

	// FailWrite, when > 0, makes the FailWrite-th mutating call (SetDWORD,
	// DeleteValue, CreateKey, DeleteKey; counting from 1) fail with
	// ErrAccessDenied without changing anything.
	FailWrite int
	// FailWritesFrom, when > 0, makes every mutating call from that number on
	// fail, so that a restore after a failure fails too.
	FailWritesFrom int
	// Writes counts the mutating calls so far, failed ones included.
	Writes int
}

// NewRegistry returns an empty fake registry.
func NewRegistry() *Registry { return &Registry{keys: map[string]*regKey{}} }

func (r *Registry) id(root platform.Root, view platform.View, key string) (string, string) {
	phys := platform.PhysicalKey(root, view, key)
	return root.String() + `\` + strings.ToLower(phys), phys
}

// write counts a mutating call and says whether it must fail.
func (r *Registry) write() error {
	r.Writes++
	if r.Writes == r.FailWrite || (r.FailWritesFrom > 0 && r.Writes >= r.FailWritesFrom) {
		return fmt.Errorf("write #%d: %w", r.Writes, ErrAccessDenied)
	}
	return nil
}

func notExist(root platform.Root, view platform.View, key, name string) error {
	where := platform.KeyPath(root, view, key)
	if name != "" {
		where += " [" + name + "]"
	}
	return fmt.Errorf("%s: %w", where, platform.ErrNotExist)
}

// create makes key and its ancestors; it reports whether key existed.
func (r *Registry) create(root platform.Root, view platform.View, key string) bool {
	if r.keys == nil {
		r.keys = map[string]*regKey{}
	}
	id, phys := r.id(root, view, key)
	if _, ok := r.keys[id]; ok {
		return true
	}
	parts := strings.Split(phys, `\`)
	for i := 1; i <= len(parts); i++ {
		p := strings.Join(parts[:i], `\`)
		pid := root.String() + `\` + strings.ToLower(p)
		if _, ok := r.keys[pid]; !ok {
			r.keys[pid] = &regKey{name: p, values: map[string]*regValue{}}
		}
	}
	return false
}

func (r *Registry) lookup(root platform.Root, view platform.View, key string) *regKey {
	id, _ := r.id(root, view, key)
	return r.keys[id]
}

// GetDWORD implements platform.Registry.
func (r *Registry) GetDWORD(root platform.Root, view platform.View, key, name string) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.lookup(root, view, key)
	if k == nil {
		return 0, notExist(root, view, key, name)
	}
	v, ok := k.values[strings.ToLower(name)]
	if !ok {
		return 0, notExist(root, view, key, name)
	}
	if v.isStr {
		return 0, fmt.Errorf("%s [%s]: %w", platform.KeyPath(root, view, key), name, platform.ErrUnexpectedType)
	}
	return v.dword, nil
}

// GetString implements platform.Registry.
func (r *Registry) GetString(root platform.Root, view platform.View, key, name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.lookup(root, view, key)
	if k == nil {
		return "", notExist(root, view, key, name)
	}
	v, ok := k.values[strings.ToLower(name)]
	if !ok {
		return "", notExist(root, view, key, name)
	}
	if !v.isStr {
		return "", fmt.Errorf("%s [%s]: %w", platform.KeyPath(root, view, key), name, platform.ErrUnexpectedType)
	}
	return v.str, nil
}

// SetDWORD implements platform.Registry.
func (r *Registry) SetDWORD(root platform.Root, view platform.View, key, name string, v uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.write(); err != nil {
		return err
	}
	r.set(root, view, key, &regValue{name: name, dword: v})
	return nil
}

func (r *Registry) set(root platform.Root, view platform.View, key string, v *regValue) {
	r.create(root, view, key)
	k := r.lookup(root, view, key)
	if old, ok := k.values[strings.ToLower(v.name)]; ok {
		v.name = old.name
	}
	k.values[strings.ToLower(v.name)] = v
}

// SetString stores a REG_SZ value (the Windows version strings, or a wrong
// type in tests). It does not count as a write.
func (r *Registry) SetString(root platform.Root, view platform.View, key, name, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.set(root, view, key, &regValue{name: name, str: s, isStr: true})
}

// DeleteValue implements platform.Registry.
func (r *Registry) DeleteValue(root platform.Root, view platform.View, key, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.write(); err != nil {
		return err
	}
	k := r.lookup(root, view, key)
	if k == nil {
		return notExist(root, view, key, name)
	}
	if _, ok := k.values[strings.ToLower(name)]; !ok {
		return notExist(root, view, key, name)
	}
	delete(k.values, strings.ToLower(name))
	return nil
}

// CreateKey implements platform.Registry.
func (r *Registry) CreateKey(root platform.Root, view platform.View, key string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.write(); err != nil {
		return false, err
	}
	return r.create(root, view, key), nil
}

// DeleteKey implements platform.Registry.
func (r *Registry) DeleteKey(root platform.Root, view platform.View, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.write(); err != nil {
		return err
	}
	id, _ := r.id(root, view, key)
	if _, ok := r.keys[id]; !ok {
		return notExist(root, view, key, "")
	}
	if len(r.subKeys(id)) > 0 {
		return fmt.Errorf("delete %s: key has subkeys", platform.KeyPath(root, view, key))
	}
	delete(r.keys, id)
	return nil
}

func (r *Registry) subKeys(id string) []string {
	var out []string
	prefix := id + `\`
	for kid, k := range r.keys {
		if rest, ok := strings.CutPrefix(kid, prefix); ok && !strings.Contains(rest, `\`) {
			out = append(out, k.name[strings.LastIndex(k.name, `\`)+1:])
		}
	}
	sort.Strings(out)
	return out
}

// KeyExists implements platform.Registry.
func (r *Registry) KeyExists(root platform.Root, view platform.View, key string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookup(root, view, key) != nil, nil
}

// ValueNames implements platform.Registry.
func (r *Registry) ValueNames(root platform.Root, view platform.View, key string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.lookup(root, view, key)
	if k == nil {
		return nil, notExist(root, view, key, "")
	}
	out := []string{}
	for _, v := range k.values {
		out = append(out, v.name)
	}
	sort.Strings(out)
	return out, nil
}

// SubKeyNames implements platform.Registry.
func (r *Registry) SubKeyNames(root platform.Root, view platform.View, key string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, _ := r.id(root, view, key)
	if _, ok := r.keys[id]; !ok {
		return nil, notExist(root, view, key, "")
	}
	return r.subKeys(id), nil
}

// Dump lists every key and value, one per line, sorted and lower-cased, so
// tests can compare whole registries before and after.
func (r *Registry) Dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lines []string
	for id, k := range r.keys {
		lines = append(lines, id)
		for lv, v := range k.values {
			if v.isStr {
				lines = append(lines, fmt.Sprintf("%s [%s]=sz:%q", id, lv, v.str))
			} else {
				lines = append(lines, fmt.Sprintf("%s [%s]=dword:%08x", id, lv, v.dword))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
