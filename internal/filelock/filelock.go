// Package filelock takes advisory locks (flock) on files. A lock belongs to the open file,
// so it ends when the file is closed or the process dies: a crash never leaves one behind.
// Where flock does not exist the locks are no-ops (one process per file is then the
// operator's business).
package filelock

import (
	"errors"
	"fmt"
	"os"
)

// ErrLocked: TryLock found the lock held by another open file (another process, or
// another lock in this one).
var ErrLocked = errors.New("filelock: held by another")

// TryLock opens (creating, mode 0600) path and locks it without waiting: exclusively, or
// shared with other shared holders. release unlocks and closes it.
func TryLock(path string, shared bool) (release func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("filelock: %w", err)
	}
	if err := flock(f, shared, false); err != nil {
		f.Close()
		return nil, err
	}
	return f.Close, nil // closing the file releases the lock
}

// Lock takes an exclusive lock on the open file f, waiting for other holders; unlock
// releases it and leaves f open.
func Lock(f *os.File) (unlock func(), err error) {
	if err := flock(f, false, true); err != nil {
		return nil, err
	}
	return func() { funlock(f) }, nil
}
