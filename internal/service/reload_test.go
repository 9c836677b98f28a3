package service_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/lightning/sandbox"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// subRecorder records the #p values of every subscription the service takes.
type subRecorder struct {
	mu   sync.Mutex
	subs [][]string
	took chan struct{}
}

func (r *subRecorder) Publish(context.Context, *nostr.Event) error { return nil }

func (r *subRecorder) Subscribe(ctx context.Context, filters []nostr.Filter) (<-chan *nostr.Event, func()) {
	var keys []string
	for _, f := range filters {
		keys = append(keys, f.Tags["p"]...)
	}
	r.mu.Lock()
	r.subs = append(r.subs, keys)
	r.mu.Unlock()
	select {
	case r.took <- struct{}{}:
	default:
	}
	return make(chan *nostr.Event), func() {}
}

func (r *subRecorder) last() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.subs) == 0 {
		return nil
	}
	return r.subs[len(r.subs)-1]
}

// TestReloadWhileRunningResubscribes: a connection created while Run is running and
// picked up with Reload is in the subscription by the time Reload returns — a Reload must
// not swallow the change the Run loop needs to resubscribe.
func TestReloadWhileRunningResubscribes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.Open(ctx, sandbox.Config{Path: filepath.Join(dir, "sb.db")})
	if err != nil {
		t.Fatal(err)
	}
	var master [32]byte
	rand.Read(master[:])
	keys := keyring.New(master)
	rec := &subRecorder{took: make(chan struct{}, 1)}
	// A refresh tick that never comes during the test: only Reload can pick changes up.
	svc, err := service.New(service.Config{Keys: keys, Store: st, Backend: sb, Relays: rec, RefreshInterval: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; sb.Close(); st.Close() })
	<-rec.took // the first subscription, before any connection exists

	for i := range 3 {
		c := wallet.Connection{Name: "app", ClientPubKey: nostr.GenerateSecretKey().Public(), Scopes: []wallet.Scope{wallet.ScopeGetBalance}}
		if err := st.CreateConnection(ctx, &c, func(i uint32) (nostr.PublicKey, error) { return keys.Derive(i).Public(), nil }); err != nil {
			t.Fatal(err)
		}
		if err := svc.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if got := rec.last(); !slices.Contains(got, c.ServicePubKey.String()) || len(got) != i+1 {
			t.Fatalf("after Reload #%d the subscription has %v, want %d keys including %s", i+1, got, i+1, c.ServicePubKey)
		}
	}
	cancel()
	<-done
	// After Run has returned, Reload still works (it refreshes without a loop).
	if err := svc.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
}
