package lnd_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package if goroutines outlive the tests: Close must end every
// stream, watcher and subscriber.
func TestMain(m *testing.M) {
	base := len(goroutines())
	code := m.Run()
	if code == 0 {
		// net/http connection goroutines notice a closed peer asynchronously: wait a
		// bounded time for them.
		deadline := time.Now().Add(5 * time.Second)
		for len(goroutines()) > base && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if g := goroutines(); len(g) > base {
			fmt.Fprintf(os.Stderr, "goroutine leak: %d running, %d at start\n%s\n", len(g), base, strings.Join(g, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// goroutines lists the stacks of running goroutines, minus the signal watcher the
// fuzzing engine starts.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(strings.TrimSpace(string(buf)), "\n\n") {
		if !strings.Contains(g, "os/signal.signal_recv") {
			out = append(out, g)
		}
	}
	return out
}
