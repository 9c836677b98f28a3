package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// sandboxWallet is the real wallet service (sandbox backend, embedded relay on 127.0.0.1:0,
// SQLite in a temp dir), as `nwc serve` runs it.
type sandboxWallet struct {
	t   *testing.T
	srv *server.Server
}

func startWallet(t *testing.T) *sandboxWallet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, server.Options{
		DataDir: t.TempDir(), RelayListen: "127.0.0.1:0", SandboxBalance: 1_000_000_000,
		// The 50-goroutine test would trip the per-connection rate limit.
		Service: service.Config{RatePerSecond: -1, RefreshInterval: 20 * time.Millisecond},
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service run: %v", err)
		}
		srv.Close()
	})
	return &sandboxWallet{t: t, srv: srv}
}

// connect creates a connection and returns its URI once the service has announced it.
func (w *sandboxWallet) connect(o server.ConnectionOptions) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if o.Name == "" {
		o.Name = "test"
	}
	o.Relays = w.srv.RelayURLs
	conn, uri, err := server.NewConnection(ctx, w.srv.Store, w.srv.Keys, o)
	if err != nil {
		w.t.Fatal(err)
	}
	w.waitInfo(ctx, conn.ServicePubKey)
	return uri.String()
}

// waitInfo blocks until the wallet's info event for pk is on the relay: the signal that
// the service serves the connection.
func (w *sandboxWallet) waitInfo(ctx context.Context, pk nostr.PublicKey) {
	w.t.Helper()
	sub, err := w.srv.Pool.Subscribe(ctx, []nostr.Filter{{Kinds: []int{nip47.KindInfo}, Authors: []string{pk.String()}}})
	if err != nil {
		w.t.Fatal(err)
	}
	defer sub.Close()
	select {
	case <-sub.Events():
	case <-ctx.Done():
		w.t.Fatal("the service never announced the connection")
	}
}

// allMethods is every method the sandbox serves.
const allMethods = "pay_invoice,make_invoice,lookup_invoice,list_transactions,get_balance,get_info,sign_message"
