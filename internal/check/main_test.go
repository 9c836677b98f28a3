package check

import (
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/leakcheck"
)

// TestMain fails the package if goroutines outlive the tests: every run must close its
// pool and subscriptions, and the fakes and the in-process service must stop.
// Connections and database/sql goroutines end shortly after Close, hence the grace.
func TestMain(m *testing.M) { leakcheck.Main(m, 10*time.Second) }
