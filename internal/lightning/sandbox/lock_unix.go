//go:build unix

package sandbox

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockLedger takes a non-blocking lock on path+".lock": exclusive for a Sandbox that owns
// the ledger, shared for those that share it (so an owner and sharers exclude each other).
// The kernel drops it when the process dies, so a crash never leaves the ledger locked.
func lockLedger(path string, shared bool) (unlock func(), err error) {
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sandbox: lock ledger: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLedgerInUse, path)
		}
		return nil, fmt.Errorf("sandbox: lock ledger: %w", err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
