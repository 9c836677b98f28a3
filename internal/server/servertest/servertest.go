// Package servertest runs the real wallet service for tests of what talks to it: the
// sandbox backend, the embedded relay on 127.0.0.1:0 and SQLite in a temporary data dir,
// assembled by internal/server as `nwc serve` does.
package servertest

import (
	"context"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// Start opens a server with o (DataDir defaults to a temp dir, RelayListen to
// 127.0.0.1:0), runs it, and stops and closes it when the test ends, failing the test
// if Run returned an error.
func Start(t testing.TB, o server.Options) *server.Server {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.RelayListen == "" {
		o.RelayListen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, o)
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
	return srv
}

// Connect creates a connection on srv's relays (name "test" if o has none) and returns it
// with its URI once the service has announced it: its info event is on the relay.
func Connect(t testing.TB, srv *server.Server, o server.ConnectionOptions) (*wallet.Connection, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if o.Name == "" {
		o.Name = "test"
	}
	o.Relays = srv.RelayURLs
	conn, uri, err := server.NewConnection(ctx, srv.Store, srv.Keys, o)
	if err != nil {
		t.Fatal(err)
	}
	WaitInfo(ctx, t, srv.Pool, conn.ServicePubKey)
	return conn, uri.String()
}

// WaitInfo blocks until the info event of service key pk is on pool's relays (or ctx
// ends, failing the test): the signal that the service serves the connection.
func WaitInfo(ctx context.Context, t testing.TB, pool *relaypool.Pool, pk nostr.PublicKey) {
	t.Helper()
	sub, err := pool.Subscribe(ctx, []nostr.Filter{{Kinds: []int{nip47.KindInfo}, Authors: []string{pk.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	select {
	case <-sub.Events():
	case <-ctx.Done():
		t.Fatal("the service never announced the connection")
	}
}

// PublishInfo puts an info event for wallet on the relay at relayURL, so that a client can
// Dial it though no service answers.
func PublishInfo(t testing.TB, relayURL string, wallet *nostr.SecretKey, methods []nip47.Method, encryptions ...nip47.Encryption) {
	t.Helper()
	ev, err := nip47.InfoEvent(wallet, methods, nil, encryptions, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := relaypool.New(relaypool.Options{})
	defer pool.Close()
	if err := pool.AddRelay(relayURL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := pool.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
}
