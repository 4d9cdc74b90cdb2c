package remediate

// RefusedError is a rollback (files or registry) that stopped before it
// wrote anything: no such backup, already rolled back, another --root,
// changes made since the fix, no right to write. The command exits 2.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }
