package leakcheck

import (
	"os"
	"os/signal"
	"runtime"
	"strings"
	"testing"
	"time"
)

// parked blocks until release is closed; its name shows in stacks.
func parked(started chan<- struct{}, release <-chan struct{}) {
	close(started)
	<-release
}

// parkedOnly lists the parked goroutines alone, so that the runtime's and the test
// runner's own goroutines, which come and go, do not count.
func parkedOnly() []string {
	var out []string
	for _, g := range goroutines() {
		if strings.Contains(g, "leakcheck.parked(") {
			out = append(out, g)
		}
	}
	return out
}

// park starts a parked goroutine and returns the function that ends it and waits
// until it is gone.
func park(t *testing.T) (release func()) {
	t.Helper()
	started, ch := make(chan struct{}), make(chan struct{})
	go parked(started, ch)
	<-started
	return func() {
		close(ch)
		if n, stacks, ok := settle(0, 5*time.Second, parkedOnly); !ok {
			t.Fatalf("%d parked goroutines did not end:\n%s", n, stacks)
		}
	}
}

func TestSettle(t *testing.T) {
	tests := []struct {
		name    string
		endBy   bool // end the goroutine before settle looks
		wantOK  bool
		wantHas string
	}{
		{"goroutine ended", true, true, ""},
		{"goroutine still running", false, false, "leakcheck.parked("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := park(t)
			if tt.endBy {
				release()
			} else {
				defer release()
			}
			n, stacks, ok := settle(0, 50*time.Millisecond, parkedOnly)
			if ok != tt.wantOK || !strings.Contains(stacks, tt.wantHas) {
				t.Fatalf("settle = %d, ok %v; want ok %v and stacks with %q:\n%s", n, ok, tt.wantOK, tt.wantHas, stacks)
			}
			if !ok && n != 1 {
				t.Errorf("leak reported with %d goroutines, want 1", n)
			}
		})
	}
}

// recorder is a testing.TB that keeps what check does with it.
type recorder struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recorder) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, a ...any) { r.errors = append(r.errors, f) }

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		leak bool
	}{
		{"goroutine ended before cleanup", false},
		{"goroutine outlives the test", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			check(r, 50*time.Millisecond, parkedOnly)
			release := park(t)
			if !tt.leak {
				release()
			} else {
				defer release()
			}
			for _, f := range r.cleanups {
				f()
			}
			if got := len(r.errors) > 0; got != tt.leak {
				t.Errorf("errors %q, want a leak reported: %v", r.errors, tt.leak)
			}
		})
	}
}

func TestGoroutinesIgnoresSignalWatcher(t *testing.T) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt) // starts the process's signal watcher for good
	defer signal.Stop(c)
	all := func() string {
		buf := make([]byte, 1<<20)
		return string(buf[:runtime.Stack(buf, true)])
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(all(), "os/signal.signal_recv"); {
		if time.Now().After(deadline) {
			t.Fatal("signal watcher did not start")
		}
		time.Sleep(time.Millisecond)
	}
	for _, g := range goroutines() {
		if strings.Contains(g, "os/signal.signal_recv") {
			t.Fatalf("signal watcher counted:\n%s", g)
		}
	}
}
