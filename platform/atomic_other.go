//go:build !unix

package platform

import (
	"io/fs"
	"os"
)

// Windows has no numeric owners; ACLs are inherited from the directory.
func fileOwner(fs.FileInfo) (uid, gid int) { return -1, -1 }

func chownFile(*os.File, int, int) error { return nil }

// SyncDir is a no-op where directories cannot be opened for fsync.
func SyncDir(string) error { return nil }

// LinkCount is 1 where hard links cannot be counted.
func LinkCount(fs.FileInfo) int { return 1 }

// accessWrite has no cheap answer here; the write itself will tell.
func accessWrite(string) error { return nil }
