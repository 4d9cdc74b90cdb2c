package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrLocked means another tlsfloor fix or rollback holds the lock.
var ErrLocked = errors.New("another tlsfloor fix or rollback is running")

// FileLock is an exclusive advisory lock on a file (flock(2) on Unix,
// LockFileEx on Windows). The kernel drops it when the process dies, so a
// killed run never leaves a lock that blocks the next one.
type FileLock struct {
	f    *os.File
	path string
}

// lockPoll is how often a waiting Lock retries.
const lockPoll = 50 * time.Millisecond

// Lock takes the exclusive lock on path (a local path, created 0600 if
// missing), retrying for up to wait. When the lock stays busy it returns an
// error wrapping ErrLocked that names the holder's pid.
func Lock(ctx context.Context, path string, wait time.Duration) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			break
		}
		if !time.Now().Before(deadline) {
			holder := readHolder(path)
			f.Close()
			return nil, fmt.Errorf("%w (lock %s held%s); try again when it has finished", ErrLocked, path, holder)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
	// The pid is only for the message a waiting process prints.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &FileLock{f: f, path: path}, nil
}

func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if pid := strings.TrimSpace(string(b)); pid != "" {
		return " by pid " + pid
	}
	return ""
}

// Unlock releases the lock. It is safe to call more than once.
func (l *FileLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := unlockFile(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
