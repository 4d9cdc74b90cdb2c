package txn

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tlsfloor/tlsfloor/platform"
)

// ManifestName is the manifest's file name inside a backup directory.
const ManifestName = "manifest.json"

// ManifestSchemaVersion is bumped on incompatible manifest changes.
const ManifestSchemaVersion = 1

// Status is where a backup's transaction stands.
type Status string

// Backup statuses.
const (
	// StatusPending: the backup is complete and config files may have been
	// written (a run that was killed stays here). Each file then holds
	// either its before or its after bytes.
	StatusPending Status = "pending"
	// StatusApplied: every file written, tested (and reloaded/verified when
	// asked).
	StatusApplied Status = "applied"
	// StatusRolledBack: every file was put back, by fix itself after a
	// failure or by `tlsfloor rollback`.
	StatusRolledBack Status = "rolled-back"
	// StatusRollbackFailed: putting the files back failed; manual action.
	StatusRollbackFailed Status = "rollback-failed"
	// StatusIncomplete is never written: List reports it for a directory
	// without a readable manifest (a run killed while backing up, before
	// any config file was touched).
	StatusIncomplete Status = "incomplete"
)

// Manifest describes one backup: what was saved, from where, and what the
// fix wrote.
type Manifest struct {
	SchemaVersion int            `json:"schema_version"`
	ID            string         `json:"id"`
	Created       time.Time      `json:"created"`
	Root          string         `json:"root,omitempty"`
	Status        Status         `json:"status"`
	History       []Event        `json:"history"`
	Files         []FileRecord   `json:"files"`
	Servers       []ServerRecord `json:"servers,omitempty"`
}

// Event is one status change.
type Event struct {
	Time   time.Time `json:"time"`
	Status Status    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// FileRecord is one saved file. Paths are host paths (under --root when
// one was given).
type FileRecord struct {
	Path       string `json:"path"`
	RealPath   string `json:"real_path"`
	WasSymlink bool   `json:"was_symlink"`
	Mode       string `json:"mode"` // octal permission bits, e.g. "0640"
	UID        int    `json:"uid"`  // -1 where the platform has no numeric owners
	GID        int    `json:"gid"`
	Size       int    `json:"size"`
	SHA256     string `json:"sha256_before"`
	SHA256New  string `json:"sha256_after"`
	// Backup is the saved copy, relative to the backup directory.
	Backup string `json:"backup"`
}

// ServerRecord is a server the fix tested, so rollback can reload it.
type ServerRecord struct {
	Kind     string   `json:"kind"`
	Main     string   `json:"main,omitempty"`
	Binary   string   `json:"binary,omitempty"`
	TestArgv []string `json:"test_argv,omitempty"`
}

func (r FileRecord) attr() (platform.FileAttr, error) {
	m, err := strconv.ParseUint(r.Mode, 8, 32)
	if err != nil || m > 0o777 {
		return platform.FileAttr{}, fmt.Errorf("%s: bad mode %q in manifest", r.Path, r.Mode)
	}
	return platform.FileAttr{Mode: fs.FileMode(m), UID: r.UID, GID: r.GID}, nil
}

func formatMode(m fs.FileMode) string { return fmt.Sprintf("%04o", uint32(m.Perm())) }

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// newID returns a backup id that sorts by time: UTC timestamp plus a
// random suffix so two runs in the same second do not collide.
func newID(now time.Time) (string, error) {
	var r [3]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("backup id: %w", err)
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(r[:]), nil
}

// validID rejects ids that could leave the backup directory.
func validID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, `/\`) && !strings.HasPrefix(id, ".")
}

// writeFileSync writes a new local file with perm and fsyncs it.
func writeFileSync(name string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// saveManifest replaces dir/manifest.json atomically and durably.
func saveManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	tmp := filepath.Join(dir, "."+ManifestName+".tmp")
	os.Remove(tmp)
	if err := writeFileSync(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestName)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := platform.SyncDir(dir); err != nil {
		return fmt.Errorf("write manifest: fsync %s: %w", dir, err)
	}
	return nil
}

// LoadManifest reads the manifest of the backup in dir.
func LoadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestName), err)
	}
	if m.SchemaVersion != ManifestSchemaVersion {
		return nil, fmt.Errorf("%s: unsupported schema_version %d", filepath.Join(dir, ManifestName), m.SchemaVersion)
	}
	return &m, nil
}

func (m *Manifest) setStatus(now time.Time, s Status, note string) {
	m.Status = s
	m.History = append(m.History, Event{Time: now.UTC(), Status: s, Note: note})
}

// BackupInfo is one backup as List shows it.
type BackupInfo struct {
	ID      string    `json:"id"`
	Path    string    `json:"path"`
	Created time.Time `json:"created"`
	Status  Status    `json:"status"`
	// Updated is the time of the last status change.
	Updated time.Time `json:"updated"`
	Files   []string  `json:"files"`
	// Err says why the manifest could not be read (status incomplete).
	Err string `json:"error,omitempty"`
}

// List returns the backups in backupDir, oldest first. A missing
// backupDir is no backups.
func List(backupDir string) ([]BackupInfo, error) {
	entries, err := os.ReadDir(backupDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var out []BackupInfo
	for _, e := range entries {
		if !e.IsDir() || !validID(e.Name()) {
			continue
		}
		dir := filepath.Join(backupDir, e.Name())
		info := BackupInfo{ID: e.Name(), Path: dir}
		m, err := LoadManifest(dir)
		if err != nil {
			info.Status = StatusIncomplete
			info.Err = err.Error()
			out = append(out, info)
			continue
		}
		info.Created, info.Status = m.Created, m.Status
		if n := len(m.History); n > 0 {
			info.Updated = m.History[n-1].Time
		}
		for _, f := range m.Files {
			info.Files = append(info.Files, f.Path)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
