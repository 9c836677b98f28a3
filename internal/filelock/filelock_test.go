package filelock_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/filelock"
)

func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	tests := []struct {
		name          string
		first, second bool // shared?
		wantLocked    bool
	}{
		{"exclusive then exclusive", false, false, true},
		{"exclusive then shared", false, true, true},
		{"shared then exclusive", true, false, true},
		{"shared then shared", true, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release, err := filelock.TryLock(path, tc.first)
			if err != nil {
				t.Fatal(err)
			}
			release2, err := filelock.TryLock(path, tc.second)
			if got := errors.Is(err, filelock.ErrLocked); got != tc.wantLocked {
				t.Fatalf("second lock: %v, want locked=%v", err, tc.wantLocked)
			}
			if err == nil {
				release2()
			}
			if err := release(); err != nil {
				t.Fatal(err)
			}
			// Released: an exclusive lock is free again.
			again, err := filelock.TryLock(path, false)
			if err != nil {
				t.Fatalf("after release: %v", err)
			}
			again()
		})
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v, %v; want mode 0600", fi, err)
	}
}

func TestLockWaitsForTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	release, err := filelock.TryLock(path, false)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make(chan func(), 1)
	go func() {
		unlock, err := filelock.Lock(f)
		if err != nil {
			t.Error(err)
			got <- func() {}
			return
		}
		got <- unlock
	}()
	select { // something that must not happen: give it a moment
	case <-got:
		t.Fatal("Lock returned while another held the lock")
	case <-time.After(100 * time.Millisecond):
	}
	release()
	(<-got)()
}
