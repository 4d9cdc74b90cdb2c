//go:build linux

package platform

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// xattrDir returns a directory whose file system keeps user.* attributes
// and POSIX ACLs: the test temp dir, or else one beside the package (the
// checkout's disk), since /tmp may be a tmpfs without them.
func xattrDir(t *testing.T) string {
	t.Helper()
	for _, dir := range []string{t.TempDir(), ""} {
		if dir == "" {
			d, err := os.MkdirTemp(".", ".xattr-test-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
		probe := filepath.Join(dir, "probe")
		if err := os.WriteFile(probe, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		err := unix.Setxattr(probe, "user.tlsfloor.probe", []byte("x"), 0)
		os.Remove(probe)
		if err == nil {
			return dir
		}
		if !errors.Is(err, unix.ENOTSUP) {
			t.Fatalf("setxattr: %v", err)
		}
	}
	t.Skip("no file system here keeps user.* extended attributes")
	return ""
}

// posixACL encodes a system.posix_acl_access value: owner rw, user uid r,
// group r, mask r, other none.
func posixACL(uid uint32) []byte {
	var b bytes.Buffer
	put := func(tag, perm uint16, id uint32) {
		_ = binary.Write(&b, binary.LittleEndian, tag)
		_ = binary.Write(&b, binary.LittleEndian, perm)
		_ = binary.Write(&b, binary.LittleEndian, id)
	}
	_ = binary.Write(&b, binary.LittleEndian, uint32(2)) // version
	const undefined = ^uint32(0)
	put(0x01, 6, undefined) // ACL_USER_OBJ rw-
	put(0x02, 4, uid)       // ACL_USER r--
	put(0x04, 4, undefined) // ACL_GROUP_OBJ r--
	put(0x10, 4, undefined) // ACL_MASK r--
	put(0x20, 0, undefined) // ACL_OTHER ---
	return b.Bytes()
}

// TestWriteFileAtomicKeepsXattrs: the replaced file keeps the old one's
// user.* attribute and POSIX ACL (what SELinux labels are, too: extended
// attributes that rename would otherwise drop).
func TestWriteFileAtomicKeepsXattrs(t *testing.T) {
	dir := xattrDir(t)
	target := filepath.Join(dir, "site.conf")
	if err := os.WriteFile(target, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(target, "user.tlsfloor.note", []byte("keep me"), 0); err != nil {
		t.Fatal(err)
	}
	acl := posixACL(12345)
	aclOK := unix.Setxattr(target, "system.posix_acl_access", acl, 0) == nil
	want := map[string][]byte{"user.tlsfloor.note": []byte("keep me")}
	if aclOK {
		got, err := getXattr(target, "system.posix_acl_access")
		if err != nil {
			t.Fatal(err)
		}
		want["system.posix_acl_access"] = got
	} else {
		t.Log("file system without POSIX ACLs: checking user.* only")
	}

	w := NewOSWriter(dir)
	if err := w.WriteFileAtomic("/site.conf", []byte("new\n"), FileAttr{Mode: 0o640, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new\n" {
		t.Fatalf("content %q", b)
	}
	for name, value := range want {
		got, err := getXattr(target, name)
		if err != nil || !bytes.Equal(got, value) {
			t.Errorf("%s after the write = %q, %v; want %q", name, got, err, value)
		}
	}
}

// TestWriteFileAtomicNoXattrs: a file without extended attributes, and a
// new file, are written as before.
func TestWriteFileAtomicNoXattrs(t *testing.T) {
	dir := t.TempDir()
	w := NewOSWriter(dir)
	for _, data := range []string{"first\n", "second\n"} {
		if err := w.WriteFileAtomic("/plain.conf", []byte(data), FileAttr{Mode: 0o644, UID: -1, GID: -1}); err != nil {
			t.Fatal(err)
		}
		names, err := listXattrs(filepath.Join(dir, "plain.conf"))
		if err != nil && !errors.Is(err, unix.ENOTSUP) {
			t.Fatal(err)
		}
		for _, n := range names {
			if n != "security.selinux" { // a labelled host labels new files
				t.Errorf("unexpected attribute %s", n)
			}
		}
	}
}
