package platformtest

import (
	"sync"
	"syscall"

	"github.com/tlsfloor/tlsfloor/platform"
)

// FaultWriter wraps a platform.Writer and fails its FailAt-th
// WriteFileAtomic call (1-based; 0 never). With After, the write happens
// first and then the error is returned, like a failing directory fsync
// after the rename; otherwise nothing is written. Err defaults to ENOSPC.
type FaultWriter struct {
	platform.Writer
	FailAt int
	After  bool
	Err    error

	mu     sync.Mutex
	Writes []string // names of every WriteFileAtomic call, failed or not
}

// WriteFileAtomic implements platform.Writer.
func (w *FaultWriter) WriteFileAtomic(name string, data []byte, attr platform.FileAttr) error {
	w.mu.Lock()
	w.Writes = append(w.Writes, name)
	n := len(w.Writes)
	w.mu.Unlock()
	if n != w.FailAt {
		return w.Writer.WriteFileAtomic(name, data, attr)
	}
	err := w.Err
	if err == nil {
		err = syscall.ENOSPC
	}
	if w.After {
		if werr := w.Writer.WriteFileAtomic(name, data, attr); werr != nil {
			return werr
		}
	}
	return &platformError{op: "write", name: name, err: err}
}

type platformError struct {
	op, name string
	err      error
}

func (e *platformError) Error() string { return e.op + " " + e.name + ": " + e.err.Error() }
func (e *platformError) Unwrap() error { return e.err }
