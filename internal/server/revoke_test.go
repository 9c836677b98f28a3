package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// TestRevokeDeletesInfoEvent: revoking a connection (as `nwc connect revoke` does, in the
// store) silences it and makes the relay forget its info event, through the deletion's
// address tag, while another connection's info event stays.
func TestRevokeDeletesInfoEvent(t *testing.T) {
	ctx := context.Background()
	url, _ := startRelay(t, "127.0.0.1:0", "")
	srv, _ := runServer(t, ctx, server.Options{DataDir: t.TempDir(), RelayListen: "off", Relays: []string{url}})
	gone, goneURI, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{Name: "gone", Relays: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	_, keptURI, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{Name: "kept", Relays: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	pool := relaypool.New(relaypool.Options{})
	defer pool.Close()
	if err := pool.AddRelay(url); err != nil {
		t.Fatal(err)
	}
	infoOf := func(uri *nip47.ConnectionURI) []*nostr.Event {
		t.Helper()
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		evs, err := pool.QuerySync(qctx, []nostr.Filter{{Kinds: []int{nip47.KindInfo}, Authors: []string{uri.WalletPubKey.String()}}})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitFor("both info events", func() bool { return len(infoOf(goneURI)) == 1 && len(infoOf(keptURI)) == 1 })
	app := newRawApp(t, goneURI.String())
	waitSubscribed(t, app)

	if err := srv.Store.RevokeConnection(ctx, gone.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Silent at once, before any refresh.
	ev := app.request(nip47.MethodGetBalance, nil)
	app.publish(ev)
	if got := app.collect(time.Second, ev.ID); len(got[ev.ID]) != 0 {
		t.Fatalf("revoked connection answered %d times", len(got[ev.ID]))
	}
	if err := srv.Service.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor("the revoked connection's info event to be deleted", func() bool { return len(infoOf(goneURI)) == 0 })
	if n := len(infoOf(keptURI)); n != 1 {
		t.Fatalf("the other connection has %d info events, want 1", n)
	}
}
