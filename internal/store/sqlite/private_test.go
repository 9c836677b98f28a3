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

// A request recorded after its answer is logged whole, once.
func TestRecordRequestLater(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nwc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := nostr.EventID{1, 2, 3}
	now := time.Now().Truncate(time.Second)
	r := wallet.Request{EventID: id, Method: "get_balance", ReceivedAt: now, FinishedAt: now, Outcome: wallet.OutcomeOK, Duration: 1500 * time.Microsecond}
	for range 2 {
		if err := st.RecordRequestLater(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.RecentRequests(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].EventID != id || got[0].Outcome != wallet.OutcomeOK || got[0].Duration != r.Duration || !got[0].FinishedAt.Equal(now) {
		t.Fatalf("log %+v, want the one request", got)
	}
	if _, _, failed, _ := st.GroupCommitStats(); failed != 0 {
		t.Fatalf("%d deferred writes failed", failed)
	}
}
