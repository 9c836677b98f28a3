package lnd_test

import (
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/leakcheck"
)

// TestMain fails the package if goroutines outlive the tests: Close must end every
// stream, watcher and subscriber. net/http connection goroutines notice a closed
// peer asynchronously, hence the grace.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }
