package sandbox

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package if goroutines outlive the tests: every
// Sandbox must have stopped its subscribers and deliveries on Close.
func TestMain(m *testing.M) {
	base := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		// database/sql's per-DB goroutines exit shortly after Close: poll
		// for a bounded time instead of assuming an instant exit.
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > base {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "goroutine leak: %d running, %d at start\n%s\n", n, base, strings.TrimSpace(string(buf)))
			code = 1
		}
	}
	os.Exit(code)
}
