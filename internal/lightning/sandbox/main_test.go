package sandbox

import (
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/leakcheck"
)

// TestMain fails the package if goroutines outlive the tests: every
// Sandbox must have stopped its subscribers and deliveries on Close.
// database/sql's per-DB goroutines exit shortly after Close, hence the grace.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
