//go:build !unix && !windows

package platform

import "os"

// Without a kernel lock (wasm, plan9) the lock always succeeds; tlsfloor
// does not fix files there.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) error { return nil }
