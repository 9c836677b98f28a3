package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/store/sqlite"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// One Store at a time serves a database; the claim ends with Close (or the process).
func TestClaimRequestLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nwc.db")
	a, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ClaimRequestLog(); err != nil {
		t.Fatal(err)
	}
	if err := a.ClaimRequestLog(); err != nil {
		t.Fatalf("second claim on the same Store: %v", err)
	}
	b, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.ClaimRequestLog(); !errors.Is(err, sqlite.ErrServedElsewhere) {
		t.Fatalf("claim while another Store serves: %v, want ErrServedElsewhere", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.ClaimRequestLog(); err != nil {
		t.Fatalf("claim after the other closed: %v", err)
	}
	for _, suffix := range []string{".serving", ".revocations"} {
		if fi, err := os.Stat(path + suffix); err == nil && fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", suffix, fi.Mode().Perm())
		}
	}
}

// The revocation mark moves when any Store on the file revokes, and only then.
func TestRevocationMark(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nwc.db")
	serving, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer serving.Close()
	cli, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	m0, err := serving.RevocationMark()
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 2 {
		c := &wallet.Connection{Name: "app", ClientPubKey: nostr.GenerateSecretKey().Public()}
		if err := cli.CreateConnection(ctx, c, func(uint32) (nostr.PublicKey, error) { return nostr.GenerateSecretKey().Public(), nil }); err != nil {
			t.Fatal(i, err)
		}
		ids = append(ids, c.ID)
	}
	if m, _ := serving.RevocationMark(); m != m0 {
		t.Fatalf("mark moved from %d to %d without a revocation", m0, m)
	}
	if err := cli.RevokeConnection(ctx, ids[0], time.Now()); err != nil {
		t.Fatal(err)
	}
	m1, _ := serving.RevocationMark()
	if m1 == m0 {
		t.Fatal("mark did not move after a revocation in another Store")
	}
	if err := serving.RevokeConnection(ctx, ids[1], time.Now()); err != nil {
		t.Fatal(err)
	}
	if m2, _ := cli.RevocationMark(); m2 == m1 {
		t.Fatal("mark did not move after a second revocation")
	}
	if err := cli.RevokeConnection(ctx, 9999, time.Now()); !errors.Is(err, wallet.ErrNotFound) {
		t.Fatalf("revoking an unknown connection: %v, want ErrNotFound", err)
	}
}

// A request recorded after its answer is logged whole, in the read-only log; reads and
// pruning cover both logs.
func TestRecordRequestLater(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().Truncate(time.Second)
	paid, read, old := nostr.EventID{1}, nostr.EventID{2}, nostr.EventID{3}
	if err := st.BeginRequest(ctx, paid, 0, "pay_invoice", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, r := range []wallet.Request{
		{EventID: read, Method: "get_balance", ReceivedAt: now, FinishedAt: now, Outcome: wallet.OutcomeOK, Duration: 1500 * time.Microsecond},
		{EventID: old, Method: "get_info", ReceivedAt: now.Add(-72 * time.Hour), FinishedAt: now, Outcome: wallet.OutcomeOK},
	} {
		if err := st.RecordRequestLater(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.RecentRequests(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].EventID != read || got[0].Outcome != wallet.OutcomeOK || got[0].Duration != 1500*time.Microsecond ||
		!got[0].FinishedAt.Equal(now) || got[1].EventID != paid || got[2].EventID != old {
		t.Fatalf("log %+v, want get_balance, pay_invoice, get_info, newest first", got)
	}
	if got, err := st.RecentRequests(ctx, 0, 1); err != nil || len(got) != 1 || got[0].EventID != read {
		t.Fatalf("RecentRequests(limit 1) = %+v, %v", got, err)
	}
	stats, err := st.RequestStats(ctx, 0)
	if err != nil || stats.Total != 3 || stats.OK != 2 || stats.Running != 1 || stats.ByMethod["get_balance"] != 1 || !stats.LastAt.Equal(now) {
		t.Fatalf("RequestStats = %+v, %v; want both logs counted", stats, err)
	}
	if n, err := st.PruneRequests(ctx, now.Add(-24*time.Hour), 10); err != nil || n != 1 {
		t.Fatalf("PruneRequests = %d, %v; want the old read-only row", n, err)
	}
	if got, _ := st.RecentRequests(ctx, 0, 10); len(got) != 2 {
		t.Fatalf("after pruning: %+v", got)
	}
	if _, _, failed, _ := st.GroupCommitStats(); failed != 0 {
		t.Fatalf("%d deferred writes failed", failed)
	}
}
