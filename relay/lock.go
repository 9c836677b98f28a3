package relay

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nwc-go/nwc/internal/filelock"
)

// lockDir takes an exclusive lock on dir/lock: two relays appending to one event log
// would interleave and lose each other's events.
func lockDir(dir string) (unlock func() error, err error) {
	unlock, err = filelock.TryLock(filepath.Join(dir, lockName), false)
	switch {
	case errors.Is(err, filelock.ErrLocked):
		return nil, fmt.Errorf("%w: %s", ErrDataDirInUse, dir)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return unlock, nil
}
