package service_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/lightning/sandbox"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// infoRecorder counts the info events published per author; fail refuses them all.
type infoRecorder struct {
	mu         sync.Mutex
	info       map[nostr.PublicKey]int
	fail       bool
	subscribed chan struct{} // Run subscribes once it has loaded the connections
}

func newInfoRecorder(fail bool) *infoRecorder {
	return &infoRecorder{info: map[nostr.PublicKey]int{}, fail: fail, subscribed: make(chan struct{}, 1)}
}

func (r *infoRecorder) Publish(_ context.Context, ev *nostr.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("no relay accepted it")
	}
	if ev.Kind == nip47.KindInfo {
		r.info[ev.PubKey]++
	}
	return nil
}

func (r *infoRecorder) Subscribe(context.Context, []nostr.Filter) (<-chan *nostr.Event, func()) {
	select {
	case r.subscribed <- struct{}{}:
	default:
	}
	return make(chan *nostr.Event), func() {}
}

func (r *infoRecorder) counts() map[nostr.PublicKey]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[nostr.PublicKey]int, len(r.info))
	for k, v := range r.info {
		out[k] = v
	}
	return out
}

// TestAnnouncementMemory: a restart does not publish again the info events relays were
// given before; a new connection, a change of relays (AnnounceKey), AnnounceAll, or a
// previous run whose publishes failed make the service publish them again.
func TestAnnouncementMemory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sb, err := sandbox.Open(ctx, sandbox.Config{Path: filepath.Join(dir, "sb.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	var master [32]byte
	rand.Read(master[:])
	keys := keyring.New(master)
	var conns []wallet.Connection
	newConn := func() {
		c := wallet.Connection{Name: "app", ClientPubKey: nostr.GenerateSecretKey().Public(), Scopes: []wallet.Scope{wallet.ScopeGetBalance}}
		if err := st.CreateConnection(ctx, &c, func(i uint32) (nostr.PublicKey, error) { return keys.Derive(i).Public(), nil }); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// run starts a service, lets it announce, adds `more` connections through Reload, stops it.
	run := func(rec *infoRecorder, key string, all bool, more int) {
		t.Helper()
		svc, err := service.New(service.Config{Keys: keys, Store: st, Backend: sb, Relays: rec, RefreshInterval: 1 << 40,
			AnnounceKey: key, AnnounceAll: all})
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); svc.Run(runCtx) }()
		// Run subscribes after its first load and then starts announcing; a Reload taken
		// by its loop returns after that.
		<-rec.subscribed
		if err := svc.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		for range more {
			newConn()
			if err := svc.Reload(ctx); err != nil {
				t.Fatal(err)
			}
		}
		svc.WaitAnnouncements()
		cancel()
		<-done
	}
	want := func(what string, rec *infoRecorder, announced ...int) {
		t.Helper()
		got := rec.counts()
		total := 0
		for _, i := range announced {
			if got[conns[i].ServicePubKey] != 1 {
				t.Errorf("%s: connection %d announced %d times, want once", what, i, got[conns[i].ServicePubKey])
			}
		}
		for _, n := range got {
			total += n
		}
		if total != len(announced) {
			t.Errorf("%s: %d info events published, want %d", what, total, len(announced))
		}
	}
	for range 3 {
		newConn()
	}
	first := newInfoRecorder(false)
	run(first, "relays-a", false, 0)
	want("first start", first, 0, 1, 2)

	again := newInfoRecorder(false)
	run(again, "relays-a", false, 1)
	want("restart, one connection added meanwhile", again, 3)

	quiet := newInfoRecorder(false)
	run(quiet, "relays-a", false, 0)
	want("restart with nothing new", quiet)

	moved := newInfoRecorder(false)
	run(moved, "relays-b", false, 0)
	want("restart on other relays", moved, 0, 1, 2, 3)

	forced := newInfoRecorder(false)
	run(forced, "relays-b", true, 0)
	want("restart with AnnounceAll", forced, 0, 1, 2, 3)

	// A connection whose info event no relay accepted is announced at the next start.
	failing := newInfoRecorder(true)
	run(failing, "relays-b", false, 1)
	retried := newInfoRecorder(false)
	run(retried, "relays-b", false, 0)
	want("restart after a failed announcement", retried, 4)
}
