//go:build linux

package platform

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// copyXattrs gives f every extended attribute of the file at src (a final
// symbolic link is not followed): the SELinux label (security.selinux),
// POSIX ACLs (system.posix_acl_access), and user.* and trusted.* values.
// A file replaced by rename would otherwise get its directory's defaults,
// and a config file with its own label or ACL could become unreadable to
// the server that loads it. Nothing is copied when src does not exist or
// its file system has no extended attributes; any other failure is an
// error, so that the caller keeps the old file rather than lose them.
func copyXattrs(src string, f *os.File) error {
	names, err := listXattrs(src)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENOTSUP):
		return nil
	case err != nil:
		return fmt.Errorf("list extended attributes: %w", err)
	}
	for _, name := range names {
		value, err := getXattr(src, name)
		if errors.Is(err, unix.ENODATA) {
			continue // removed since the listing
		}
		if err != nil {
			return fmt.Errorf("read extended attribute %s: %w", name, err)
		}
		if err := unix.Fsetxattr(int(f.Fd()), name, value, 0); err != nil {
			return fmt.Errorf("set extended attribute %s: %w", name, err)
		}
	}
	return nil
}

// listXattrs returns the names of path's extended attributes.
func listXattrs(path string) ([]string, error) {
	for {
		n, err := unix.Llistxattr(path, nil)
		if err != nil || n == 0 {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ERANGE) {
			continue // grew between the two calls
		}
		if err != nil {
			return nil, err
		}
		var names []string
		for _, name := range strings.Split(string(buf[:n]), "\x00") {
			if name != "" {
				names = append(names, name)
			}
		}
		return names, nil
	}
}

// getXattr returns the value of path's extended attribute name.
func getXattr(path, name string) ([]byte, error) {
	for {
		n, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		n, err = unix.Lgetxattr(path, name, buf)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
