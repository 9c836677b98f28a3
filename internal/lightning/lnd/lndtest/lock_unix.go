//go:build unix

package lndtest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Lock gives the test exclusive use of the network until it ends: `go test ./...` runs
// packages in parallel, and tests that compare balances or restart a node must not
// overlap. The lock is a flock, so a crashed test process releases it.
func (e *Env) Lock(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(e.Dir, "test.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
