package client_test

import (
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/server/servertest"
	"github.com/nwc-go/nwc/internal/service"
)

// sandboxWallet is the real wallet service (sandbox backend, embedded relay on 127.0.0.1:0,
// SQLite in a temp dir), as `nwc serve` runs it.
type sandboxWallet struct {
	t   *testing.T
	srv *server.Server
}

func startWallet(t *testing.T) *sandboxWallet {
	t.Helper()
	srv := servertest.Start(t, server.Options{SandboxBalance: 1_000_000_000,
		// The 50-goroutine test would trip the per-connection rate limit.
		Service: service.Config{RatePerSecond: -1, RefreshInterval: 20 * time.Millisecond},
	})
	return &sandboxWallet{t: t, srv: srv}
}

// connect creates a connection and returns its URI once the service has announced it.
func (w *sandboxWallet) connect(o server.ConnectionOptions) string {
	w.t.Helper()
	_, uri := servertest.Connect(w.t, w.srv, o)
	return uri
}

// allMethods is every method the sandbox serves.
const allMethods = "pay_invoice,make_invoice,lookup_invoice,list_transactions,get_balance,get_info,sign_message"
