package registry

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/tlsfloor/tlsfloor/platform"
)

// File names inside a backup directory.
const (
	ManifestName = "manifest.json"
	RegFileName  = "backup.reg"
	// LockName is the lock file in the backup root; the file fixer uses the
	// same name, so file and registry fixes exclude each other too.
	LockName = ".lock"
	// ManifestKind tells registry manifests from file manifests.
	ManifestKind = "registry"
	// ManifestSchemaVersion is bumped on incompatible manifest changes.
	ManifestSchemaVersion = 1
)

// Status is where a registry fix stands.
type Status string

// Statuses.
const (
	StatusPending        Status = "pending"         // backup written, values may be partly written (a killed run)
	StatusApplied        Status = "applied"         // every value written and read back
	StatusRolledBack     Status = "rolled-back"     // every value put back
	StatusRollbackFailed Status = "rollback-failed" // putting values back failed: manual action
)

// ValueRecord is one value the fix writes, with what was there before.
type ValueRecord struct {
	Root    string `json:"root"` // HKLM, HKCU
	View    string `json:"view"` // 64, 32
	Key     string `json:"key"`  // path below the root, in that view
	Path    string `json:"path"` // as regedit shows it
	Name    string `json:"name"`
	Existed bool   `json:"existed"`
	// Old is the value before the fix (when Existed), New what it wrote.
	Old uint32 `json:"old"`
	New uint32 `json:"new"`
}

// KeyRecord is a key the fix created (it did not exist before).
type KeyRecord struct {
	Root string `json:"root"`
	View string `json:"view"`
	Key  string `json:"key"`
	Path string `json:"path"`
}

// Event is a status change with its time.
type Event struct {
	Time   time.Time `json:"time"`
	Status Status    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// Manifest describes one registry backup.
type Manifest struct {
	SchemaVersion int           `json:"schema_version"`
	Kind          string        `json:"kind"`
	ID            string        `json:"id"`
	Created       time.Time     `json:"created"`
	ToolVersion   string        `json:"tool_version,omitempty"`
	OS            string        `json:"os"`
	Status        Status        `json:"status"`
	History       []Event       `json:"history"`
	Values        []ValueRecord `json:"values"`
	CreatedKeys   []KeyRecord   `json:"created_keys"`
	RegFile       string        `json:"reg_file"`
}

func (m *Manifest) setStatus(now time.Time, s Status, note string) {
	m.Status = s
	m.History = append(m.History, Event{Time: now.UTC(), Status: s, Note: note})
}

func parseLoc(root, view string) (platform.Root, platform.View, error) {
	r, ok := platform.ParseRoot(root)
	if !ok {
		return 0, 0, fmt.Errorf("manifest: unknown root %q", root)
	}
	switch view {
	case "64":
		return r, platform.View64, nil
	case "32":
		return r, platform.View32, nil
	}
	return 0, 0, fmt.Errorf("manifest: unknown view %q", view)
}

// newID returns an id that sorts by time, with a random suffix so that two
// runs in the same second do not collide.
func newID(now time.Time) (string, error) {
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("backup id: %w", err)
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:]), nil
}

// validID rejects ids that could leave the backup directory.
func validID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, `/\:`) && !strings.HasPrefix(id, ".")
}

// writeFileSync writes a file and flushes it to disk, so that a backup is
// complete before the first registry write.
func writeFileSync(name string, data []byte) error {
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, name)
}

func saveManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(dir, ManifestName), append(b, '\n')); err != nil {
		return fmt.Errorf("write manifest in %s: %w", dir, err)
	}
	return nil
}

// LoadManifest reads a registry manifest from a backup directory.
func LoadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("backup %s: %s: %w", dir, ManifestName, err)
	}
	if m.Kind != ManifestKind {
		return nil, fmt.Errorf("backup %s is not a registry backup (kind %q)", dir, m.Kind)
	}
	if m.SchemaVersion > ManifestSchemaVersion {
		return nil, fmt.Errorf("backup %s: manifest schema %d is newer than this tlsfloor understands (%d)", dir, m.SchemaVersion, ManifestSchemaVersion)
	}
	return &m, nil
}

// BackupInfo is one line of `rollback --list`.
type BackupInfo struct {
	ID      string    `json:"id"`
	Dir     string    `json:"dir"`
	Created time.Time `json:"created"`
	Status  Status    `json:"status"`
	Values  int       `json:"values"`
	OS      string    `json:"os"`
}

// List returns the registry backups under backupDir, oldest first. A
// missing backupDir is an empty list; other backups (file fixes, partial
// directories) are skipped.
func List(backupDir string) ([]BackupInfo, error) {
	es, err := os.ReadDir(backupDir)
	if errors.Is(err, os.ErrNotExist) {
		return []BackupInfo{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	out := []BackupInfo{}
	for _, e := range es {
		if !e.IsDir() || !validID(e.Name()) {
			continue
		}
		dir := filepath.Join(backupDir, e.Name())
		m, err := LoadManifest(dir)
		if err != nil {
			continue
		}
		out = append(out, BackupInfo{ID: m.ID, Dir: dir, Created: m.Created, Status: m.Status, Values: len(m.Values), OS: m.OS})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// RegFile renders a .reg file that `reg import FILE /reg:64` accepts and
// that puts the registry back as the manifest recorded it: old values
// restored, created values deleted ("Name"=-), created keys deleted
// ([-KEY]). Keys of the 32-bit view are written as their Wow6432Node paths
// so the file means the same from any process. The format is "Windows
// Registry Editor Version 5.00": UTF-16LE with a byte-order mark and CRLF.
func RegFile(m *Manifest) []byte {
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\r\n\r\n")
	fmt.Fprintf(&b, "; tlsfloor backup %s (%s), created %s\r\n", m.ID, m.OS, m.Created.UTC().Format(time.RFC3339))
	b.WriteString("; restores the values a tlsfloor fix changed: reg import backup.reg /reg:64\r\n\r\n")
	created := map[string]bool{}
	for _, k := range m.CreatedKeys {
		created[strings.ToLower(k.Root+`\`+physical(k.Root, k.View, k.Key))] = true
	}
	inCreated := func(root, key string) bool {
		for k := strings.ToLower(root + `\` + key); k != ""; k = strings.ToLower(platform.ParentKey(k)) {
			if created[k] {
				return true
			}
		}
		return false
	}
	last := ""
	for _, v := range m.Values {
		phys := physical(v.Root, v.View, v.Key)
		if inCreated(v.Root, phys) {
			continue // the key deletion below removes it
		}
		header := "[" + longRoot(v.Root) + `\` + phys + "]"
		if header != last {
			if last != "" {
				b.WriteString("\r\n")
			}
			b.WriteString(header + "\r\n")
			last = header
		}
		if v.Existed {
			fmt.Fprintf(&b, "%q=dword:%08x\r\n", v.Name, v.Old)
		} else {
			fmt.Fprintf(&b, "%q=-\r\n", v.Name)
		}
	}
	if last != "" {
		b.WriteString("\r\n")
	}
	// Deleting a key deletes its subkeys: list only the outermost ones.
	for _, k := range m.CreatedKeys {
		phys := physical(k.Root, k.View, k.Key)
		if parent := platform.ParentKey(phys); parent != "" && inCreated(k.Root, parent) {
			continue
		}
		fmt.Fprintf(&b, "[-%s\\%s]\r\n\r\n", longRoot(k.Root), phys)
	}
	return utf16LE(b.String())
}

func physical(root, view, key string) string {
	r, v, err := parseLoc(root, view)
	if err != nil {
		return key
	}
	return platform.PhysicalKey(r, v, key)
}

func longRoot(root string) string {
	if r, ok := platform.ParseRoot(root); ok {
		return r.LongName()
	}
	return root
}

func utf16LE(s string) []byte {
	var buf bytes.Buffer
	buf.Write([]byte{0xff, 0xfe})
	for _, u := range utf16.Encode([]rune(s)) {
		buf.WriteByte(byte(u))
		buf.WriteByte(byte(u >> 8))
	}
	return buf.Bytes()
}
