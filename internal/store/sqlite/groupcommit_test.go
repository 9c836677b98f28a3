package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/store/storetest"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// TestGroupCommit: concurrent request-log writes share transactions, and each caller still
// gets its own outcome — a duplicate or an unknown connection in a batch fails alone.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &wallet.Connection{Name: "g", ClientPubKey: storetest.Key("client", 1), Scopes: []wallet.Scope{wallet.ScopeGetBalance}}
	if err := s.CreateConnection(ctx, c, func(i uint32) (nostr.PublicKey, error) { return storetest.Key("svc", uint64(i)), nil }); err != nil {
		t.Fatal(err)
	}
	const n = 300 // ids 0..99 begun three times each; every tenth call names no connection
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			var id nostr.EventID
			id[0], id[1] = byte(i%100), 1
			conn := c.ID
			if i%10 == 9 {
				id[1], conn = 2, c.ID+1000 // a distinct id, unknown connection
			}
			errs[i] = s.BeginRequest(ctx, id, conn, "get_balance", time.Now())
			if errs[i] == nil && i%2 == 0 {
				errs[i] = s.FinishRequest(ctx, id, wallet.OutcomeOK, 0, time.Millisecond, time.Now())
			} else if errs[i] == nil {
				errs[i] = s.FinishRequestLater(ctx, id, wallet.OutcomeOK, 0, time.Millisecond, time.Now())
			}
		})
	}
	close(start)
	wg.Wait()
	var ok, dup, missing int
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, wallet.ErrDuplicateRequest):
			dup++
		case errors.Is(err, wallet.ErrNotFound):
			missing++
		default:
			t.Errorf("call %d: %v", i, err)
		}
	}
	// 30 calls name an unknown connection (ids distinct per i%100 value: 10 ids, each 3 times).
	if ok != 90 || dup != 180 || missing != 30 {
		t.Errorf("ok %d, duplicates %d, unknown connection %d; want 90, 180, 30", ok, dup, missing)
	}
	reqs, err := s.RecentRequests(ctx, c.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	finished := 0
	for _, r := range reqs {
		if r.Outcome == wallet.OutcomeOK {
			finished++
		}
	}
	if len(reqs) != 90 || finished != 90 {
		t.Errorf("%d requests recorded, %d finished; want 90, 90", len(reqs), finished)
	}
	commits, writes, failed, _ := s.GroupCommitStats()
	t.Logf("%d writes in %d commits", writes, commits)
	if writes < n+90 || commits == 0 || commits > writes || failed != 0 {
		t.Errorf("%d writes in %d commits, %d failed; want >= %d writes, none failed", writes, commits, failed, n+90)
	}
	// A deferred write that fails (nothing to finish) is counted, not lost silently.
	var unknown nostr.EventID
	unknown[0] = 0xff
	if err := s.FinishRequestLater(ctx, unknown, wallet.OutcomeOK, 0, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecentRequests(ctx, c.ID, 1); err != nil { // flushes
		t.Fatal(err)
	}
	if _, _, failed, lastErr := s.GroupCommitStats(); failed != 1 || !errors.Is(lastErr, wallet.ErrNotFound) {
		t.Errorf("after a failed deferred write: failed %d, last error %v; want 1, not found", failed, lastErr)
	}
}

// TestFinishLaterSurvivesClose: outcomes written without waiting are committed by Close.
func TestFinishLaterSurvivesClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nwc.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var id nostr.EventID
	id[0] = 7
	if err := s.BeginRequest(ctx, id, 0, "get_info", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRequestLater(ctx, id, "INTERNAL", 0, time.Millisecond, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reqs, err := s.RecentRequests(ctx, 0, 10)
	if err != nil || len(reqs) != 1 || reqs[0].Outcome != "INTERNAL" {
		t.Fatalf("after reopening: %+v, %v; want the one request with outcome INTERNAL", reqs, err)
	}
}

// TestGroupCommitClose: writes after Close fail cleanly instead of hanging.
func TestGroupCommitClose(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	var id nostr.EventID
	if err := s.BeginRequest(ctx, id, 0, "get_info", time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	id[0] = 1
	if err := s.BeginRequest(ctx, id, 0, "get_info", time.Now()); err == nil {
		t.Error("BeginRequest after Close succeeded")
	}
}
