// Package leakcheck fails tests whose goroutines outlive them: a package's
// whole run (Main, from TestMain) or a single test (Check).
//
// Goroutines that end asynchronously after a Close (net/http connections,
// database/sql openers) get a bounded grace period to go; the count is polled,
// never slept on blindly.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// pollEvery is how often the goroutine count is looked at during the grace period.
const pollEvery = 10 * time.Millisecond

// Main runs the package's tests and, if they pass, fails the run when more
// goroutines than at the start are still running after grace; the stacks go to
// stderr. It exits the process: call it as the whole of TestMain.
func Main(m *testing.M, grace time.Duration) {
	base := len(goroutines())
	code := m.Run()
	if code == 0 {
		if n, stacks, ok := settle(base, grace, goroutines); !ok {
			fmt.Fprintf(os.Stderr, "goroutine leak: %d running, %d at start\n%s\n", n, base, stacks)
			code = 1
		}
	}
	os.Exit(code)
}

// Check fails t if goroutines started during it are still running at its
// cleanup, after grace. Call it first in the test, so that its cleanup runs
// after every other one (cleanups run last-registered first).
func Check(t testing.TB, grace time.Duration) {
	t.Helper()
	check(t, grace, goroutines)
}

// check is Check counting the goroutines list returns.
func check(t testing.TB, grace time.Duration, list func() []string) {
	base := len(list())
	t.Cleanup(func() {
		if n, stacks, ok := settle(base, grace, list); !ok {
			t.Errorf("goroutine leak: %d before, %d after\n%s", base, n, stacks)
		}
	})
}

// settle waits up to grace for list to hold at most base goroutines. When it
// does not, it returns how many it holds and their stacks.
func settle(base int, grace time.Duration, list func() []string) (n int, stacks string, ok bool) {
	deadline := time.Now().Add(grace)
	for {
		g := list()
		if len(g) <= base {
			return len(g), "", true
		}
		if !time.Now().Before(deadline) {
			return len(g), strings.Join(g, "\n\n"), false
		}
		time.Sleep(pollEvery)
	}
}

// goroutines returns the stack of every running goroutine but the os/signal
// watcher: started once per process (by the fuzzing engine, or by a
// signal.Notify under test) and never stopped, it is nobody's leak.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(strings.TrimSpace(string(buf)), "\n\n") {
		if !strings.Contains(g, "os/signal.signal_recv") {
			out = append(out, g)
		}
	}
	return out
}
