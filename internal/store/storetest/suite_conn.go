package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nostr"
)

// testMigrations: a fresh database is migrated on open; re-opening (also
// twice at once, as two processes would) is idempotent and keeps the data.
func testMigrations(t *testing.T, h *harness) {
	c := h.conn(nil)
	if err := h.s.PutSetting(h.ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		var (
			wg     sync.WaitGroup
			stores [2]Store
			errs   [2]error
		)
		for j := range stores {
			wg.Go(func() { stores[j], errs[j] = h.openFn(h.ctx) })
		}
		wg.Wait()
		for j, s := range stores {
			if errs[j] != nil {
				t.Fatalf("round %d: concurrent open %d: %v", i, j, errs[j])
			}
			got, err := s.ConnectionByID(h.ctx, c.ID)
			wantErr(t, "ConnectionByID after re-open", err, nil)
			checkConn(t, "connection after re-open", got, c)
			v, err := s.GetSetting(h.ctx, "k")
			if err != nil || v != "v" {
				t.Fatalf("setting after re-open = %q, %v", v, err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		}
	}
}

func testSettings(t *testing.T, h *harness) {
	_, err := h.s.GetSetting(h.ctx, "missing")
	wantErr(t, "GetSetting(missing)", err, wallet.ErrNotFound)
	for _, v := range []string{"first", "", "second value with 'quotes' and \"more\""} {
		if err := h.s.PutSetting(h.ctx, "key", v); err != nil {
			t.Fatalf("PutSetting(%q): %v", v, err)
		}
		got, err := h.s.GetSetting(h.ctx, "key")
		if err != nil || got != v {
			t.Fatalf("GetSetting = %q, %v; want %q", got, err, v)
		}
	}
}

func testConnectionCRUD(t *testing.T, h *harness) {
	next, err := h.s.NextKeyIndex(h.ctx)
	if err != nil || next != 1 {
		t.Fatalf("NextKeyIndex on empty store = %d, %v; want 1", next, err)
	}
	a := h.conn(func(c *wallet.Connection) {
		c.Name = "Damus"
		c.Scopes = []wallet.Scope{wallet.ScopePayInvoice, wallet.ScopeGetBalance, wallet.ScopeNotifications}
		c.NotificationTypes = []string{wallet.NotificationPaymentReceived}
		c.Budget = wallet.Budget{Limit: 50_000_000, Renewal: wallet.RenewalMonthly}
		c.ExpiresAt = t0.Add(30 * 24 * time.Hour)
		c.Isolated = true
		c.Metadata = []byte(`{"app":"damus","n":1}`)
	})
	b := h.conn(func(c *wallet.Connection) { c.Scopes = nil; c.CreatedAt = t0.Add(time.Hour) })

	if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
		t.Fatalf("ids %d, %d", a.ID, b.ID)
	}
	for _, c := range []*wallet.Connection{a, b} {
		want, _ := derived(c.KeyIndex)
		if c.ServicePubKey != want {
			t.Fatalf("connection %d: service key not derived from index %d", c.ID, c.KeyIndex)
		}
	}
	if a.KeyIndex != 1 || b.KeyIndex != 2 {
		t.Fatalf("key indexes %d, %d; want 1, 2", a.KeyIndex, b.KeyIndex)
	}
	if b.Budget.Renewal != wallet.RenewalNever {
		t.Fatalf("empty renewal stored as %q, want never", b.Budget.Renewal)
	}
	for _, c := range []*wallet.Connection{a, b} {
		got, err := h.s.ConnectionByID(h.ctx, c.ID)
		wantErr(t, "ConnectionByID", err, nil)
		checkConn(t, "ByID", got, c)
		got, err = h.s.ConnectionByClientKey(h.ctx, c.ClientPubKey)
		wantErr(t, "ConnectionByClientKey", err, nil)
		checkConn(t, "ByClientKey", got, c)
		got, err = h.s.ConnectionByServiceKey(h.ctx, c.ServicePubKey)
		wantErr(t, "ConnectionByServiceKey", err, nil)
		checkConn(t, "ByServiceKey", got, c)
	}
	list, err := h.s.ListConnections(h.ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListConnections = %d rows, %v", len(list), err)
	}
	checkConn(t, "list[0]", &list[0], a)
	checkConn(t, "list[1]", &list[1], b)
	if next, _ := h.s.NextKeyIndex(h.ctx); next != 3 {
		t.Fatalf("NextKeyIndex = %d, want 3", next)
	}

	// Not found.
	_, err = h.s.ConnectionByID(h.ctx, 9999)
	wantErr(t, "ConnectionByID(unknown)", err, wallet.ErrNotFound)
	_, err = h.s.ConnectionByClientKey(h.ctx, h.key())
	wantErr(t, "ConnectionByClientKey(unknown)", err, wallet.ErrNotFound)
	_, err = h.s.ConnectionByServiceKey(h.ctx, h.key())
	wantErr(t, "ConnectionByServiceKey(unknown)", err, wallet.ErrNotFound)

	// A second live connection for the same client key is refused, and
	// leaves no row behind.
	dup := &wallet.Connection{Name: "dup", ClientPubKey: a.ClientPubKey, CreatedAt: t0}
	wantErr(t, "CreateConnection(duplicate client key)", h.s.CreateConnection(h.ctx, dup, derived), wallet.ErrExists)
	// A failing key derivation inserts nothing either.
	boom := errors.New("derive failed")
	bad := &wallet.Connection{Name: "bad", ClientPubKey: h.key(), CreatedAt: t0}
	wantErr(t, "CreateConnection(derive error)", h.s.CreateConnection(h.ctx, bad,
		func(uint32) (nostr.PublicKey, error) { return nostr.PublicKey{}, boom }), boom)
	// A fixed service key (nil derivation) is stored as given; taking an
	// existing one is refused.
	fixed := &wallet.Connection{Name: "fixed", ClientPubKey: h.key(), ServicePubKey: h.key(), CreatedAt: t0}
	wantErr(t, "CreateConnection(fixed key)", h.s.CreateConnection(h.ctx, fixed, nil), nil)
	taken := &wallet.Connection{Name: "taken", ClientPubKey: h.key(), ServicePubKey: fixed.ServicePubKey, CreatedAt: t0}
	wantErr(t, "CreateConnection(taken service key)", h.s.CreateConnection(h.ctx, taken, nil), wallet.ErrExists)
	if list, _ := h.s.ListConnections(h.ctx); len(list) != 3 {
		t.Fatalf("after refused creations: %d connections, want 3", len(list))
	}
}

func testConnectionRevoke(t *testing.T, h *harness) {
	version := func() string {
		t.Helper()
		v, err := h.s.ConnectionsVersion(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := version()
	a := h.conn(nil)
	at := t0.Add(time.Hour)
	v1 := version()
	if v1 == v0 {
		t.Fatalf("ConnectionsVersion %q did not change with a new connection", v1)
	}
	if err := h.s.TouchConnection(h.ctx, a.ID, at); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v1 {
		t.Fatalf("ConnectionsVersion changed with a touch: %q -> %q", v1, v)
	}
	wantErr(t, "RevokeConnection", h.s.RevokeConnection(h.ctx, a.ID, at), nil)
	v2 := version()
	if v2 == v1 {
		t.Fatalf("ConnectionsVersion %q did not change with a revocation", v2)
	}
	wantErr(t, "RevokeConnection again", h.s.RevokeConnection(h.ctx, a.ID, at.Add(time.Hour)), nil)
	if v := version(); v != v2 {
		t.Fatalf("ConnectionsVersion changed with a repeated revocation: %q -> %q", v2, v)
	}
	wantErr(t, "RevokeConnection(unknown)", h.s.RevokeConnection(h.ctx, 9999, at), wallet.ErrNotFound)
	got, err := h.s.ConnectionByID(h.ctx, a.ID)
	wantErr(t, "ConnectionByID", err, nil)
	if !got.RevokedAt.Equal(at) || got.Active(at) || !got.Revoked() {
		t.Fatalf("revoked connection: RevokedAt %v (want first revocation %v), active %v", got.RevokedAt, at, got.Active(at))
	}
	// The client may come back with the same key: a new connection, a new
	// service key; the revoked index is never reused.
	b := h.conn(func(c *wallet.Connection) { c.ClientPubKey = a.ClientPubKey })
	if b.KeyIndex <= a.KeyIndex || b.ServicePubKey == a.ServicePubKey {
		t.Fatalf("new connection reused index %d / service key of revoked %d", b.KeyIndex, a.KeyIndex)
	}
	got, err = h.s.ConnectionByClientKey(h.ctx, a.ClientPubKey)
	wantErr(t, "ConnectionByClientKey", err, nil)
	checkConn(t, "ByClientKey prefers the live connection", got, b)
	got, err = h.s.ConnectionByServiceKey(h.ctx, a.ServicePubKey)
	wantErr(t, "ConnectionByServiceKey(revoked)", err, nil)
	if got.ID != a.ID || !got.Revoked() {
		t.Fatalf("ByServiceKey(revoked) = %+v", got)
	}
	// Once both are revoked the newest revoked one is returned.
	wantErr(t, "RevokeConnection(b)", h.s.RevokeConnection(h.ctx, b.ID, at), nil)
	got, err = h.s.ConnectionByClientKey(h.ctx, a.ClientPubKey)
	wantErr(t, "ConnectionByClientKey(all revoked)", err, nil)
	if got.ID != b.ID || !got.Revoked() {
		t.Fatalf("ByClientKey(all revoked) = id %d, revoked %v; want %d revoked", got.ID, got.Revoked(), b.ID)
	}
}

func testConnectionTouch(t *testing.T, h *harness) {
	a := h.conn(nil)
	for _, tc := range []struct {
		at, want time.Time
	}{
		{t0.Add(time.Minute), t0.Add(time.Minute)},
		{t0.Add(time.Hour), t0.Add(time.Hour)},
		{t0.Add(time.Second), t0.Add(time.Hour)}, // older: ignored
	} {
		wantErr(t, "TouchConnection", h.s.TouchConnection(h.ctx, a.ID, tc.at), nil)
		got, err := h.s.ConnectionByID(h.ctx, a.ID)
		wantErr(t, "ConnectionByID", err, nil)
		if !got.LastUsedAt.Equal(tc.want) {
			t.Fatalf("after touch at %v: LastUsedAt %v, want %v", tc.at, got.LastUsedAt, tc.want)
		}
	}
	wantErr(t, "TouchConnection(unknown)", h.s.TouchConnection(h.ctx, 9999, t0), wallet.ErrNotFound)
}

func testRequests(t *testing.T, h *harness) {
	a, b := h.conn(nil), h.conn(nil)
	type req struct {
		id      nostr.EventID
		conn    int64
		method  string
		at      time.Time
		outcome string
		amount  wallet.MSat
	}
	reqs := []req{
		{h.eventID(), a.ID, wallet.MethodPayInvoice, t0, wallet.OutcomeOK, 1000},
		{h.eventID(), a.ID, wallet.MethodPayInvoice, t0.Add(time.Second), "QUOTA_EXCEEDED", 0},
		{h.eventID(), a.ID, wallet.MethodGetBalance, t0.Add(2 * time.Second), wallet.OutcomeOK, 0},
		{h.eventID(), a.ID, wallet.MethodPayInvoice, t0.Add(3 * time.Second), "", 0}, // still running
		{h.eventID(), b.ID, wallet.MethodGetInfo, t0.Add(4 * time.Second), wallet.OutcomeOK, 0},
		{h.eventID(), 0, wallet.MethodGetInfo, t0.Add(5 * time.Second), "UNAUTHORIZED", 0},
	}
	// Every other outcome is written with FinishRequestLater: the reads below must see it.
	for i, r := range reqs {
		wantErr(t, "BeginRequest", h.s.BeginRequest(h.ctx, r.id, r.conn, r.method, r.at), nil)
		finish := h.s.FinishRequest
		if i%2 == 1 {
			finish = h.s.FinishRequestLater
		}
		if r.outcome != "" {
			wantErr(t, "FinishRequest", finish(h.ctx, r.id, r.outcome, r.amount, 1500*time.Microsecond, r.at.Add(time.Second)), nil)
		}
	}
	// The same id is refused, whatever connection or instance it comes from.
	other := h.open()
	for _, s := range []Store{h.s, other} {
		wantErr(t, "BeginRequest(duplicate)", s.BeginRequest(h.ctx, reqs[0].id, a.ID, wallet.MethodPayInvoice, t0), wallet.ErrDuplicateRequest)
		wantErr(t, "BeginRequest(duplicate, other connection)", s.BeginRequest(h.ctx, reqs[0].id, b.ID, wallet.MethodGetInfo, t0), wallet.ErrDuplicateRequest)
	}
	wantErr(t, "FinishRequest(unknown)", h.s.FinishRequest(h.ctx, h.eventID(), wallet.OutcomeOK, 0, 0, t0), wallet.ErrNotFound)
	wantErr(t, "BeginRequest(unknown connection)", h.s.BeginRequest(h.ctx, h.eventID(), 9999, wallet.MethodGetInfo, t0), wallet.ErrNotFound)

	recent, err := h.s.RecentRequests(h.ctx, a.ID, 3)
	if err != nil || len(recent) != 3 {
		t.Fatalf("RecentRequests(a, 3) = %d, %v", len(recent), err)
	}
	for i, r := range recent {
		want := reqs[3-i] // newest first
		if r.EventID != want.id || r.ConnectionID != a.ID || r.Method != want.method || !r.ReceivedAt.Equal(want.at) || r.Outcome != want.outcome {
			t.Fatalf("recent[%d] = %+v, want %+v", i, r, want)
		}
		if want.outcome != "" && (r.Duration != 1500*time.Microsecond || !r.FinishedAt.Equal(want.at.Add(time.Second)) || r.Amount != want.amount) {
			t.Fatalf("recent[%d] finish fields = %+v", i, r)
		}
		if want.outcome == "" && !r.FinishedAt.IsZero() {
			t.Fatalf("running request has FinishedAt %v", r.FinishedAt)
		}
	}
	all, err := h.s.RecentRequests(h.ctx, 0, 0)
	if err != nil || len(all) != len(reqs) || all[0].EventID != reqs[5].id || all[0].ConnectionID != 0 {
		t.Fatalf("RecentRequests(all) = %d rows (first %+v), %v", len(all), all, err)
	}

	for _, tc := range []struct {
		conn int64
		want wallet.RequestStats
	}{
		{a.ID, wallet.RequestStats{Total: 4, OK: 2, Failed: 1, Running: 1,
			ByMethod: map[string]int64{wallet.MethodPayInvoice: 3, wallet.MethodGetBalance: 1}, LastAt: t0.Add(3 * time.Second)}},
		{b.ID, wallet.RequestStats{Total: 1, OK: 1, ByMethod: map[string]int64{wallet.MethodGetInfo: 1}, LastAt: t0.Add(4 * time.Second)}},
		{9999, wallet.RequestStats{ByMethod: map[string]int64{}}},
		{0, wallet.RequestStats{Total: 6, OK: 3, Failed: 2, Running: 1,
			ByMethod: map[string]int64{wallet.MethodPayInvoice: 3, wallet.MethodGetBalance: 1, wallet.MethodGetInfo: 2}, LastAt: t0.Add(5 * time.Second)}},
	} {
		got, err := h.s.RequestStats(h.ctx, tc.conn)
		if err != nil {
			t.Fatalf("RequestStats(%d): %v", tc.conn, err)
		}
		if got.Total != tc.want.Total || got.OK != tc.want.OK || got.Failed != tc.want.Failed ||
			got.Running != tc.want.Running || !sameTime(got.LastAt, tc.want.LastAt) || len(got.ByMethod) != len(tc.want.ByMethod) {
			t.Fatalf("RequestStats(%d) = %+v, want %+v", tc.conn, got, tc.want)
		}
		for m, n := range tc.want.ByMethod {
			if got.ByMethod[m] != n {
				t.Fatalf("RequestStats(%d).ByMethod[%s] = %d, want %d", tc.conn, m, got.ByMethod[m], n)
			}
		}
	}
}

// testPruneRequests: the oldest rows received before the cutoff go, in bounded batches;
// newer ones stay.
func testPruneRequests(t *testing.T, h *harness) {
	a := h.conn(nil)
	var ids []nostr.EventID
	for _, age := range []time.Duration{72 * time.Hour, 48 * time.Hour, 24 * time.Hour, 0} {
		id := h.eventID()
		ids = append(ids, id)
		wantErr(t, "BeginRequest", h.s.BeginRequest(h.ctx, id, a.ID, wallet.MethodGetBalance, t0.Add(-age)), nil)
		wantErr(t, "FinishRequestLater", h.s.FinishRequestLater(h.ctx, id, wallet.OutcomeOK, 0, time.Millisecond, t0.Add(-age)), nil)
	}
	cutoff := t0.Add(-36 * time.Hour)
	if n, err := h.s.PruneRequests(h.ctx, cutoff, 1); err != nil || n != 1 {
		t.Fatalf("PruneRequests(limit 1) = %d, %v; want 1", n, err)
	}
	if n, err := h.s.PruneRequests(h.ctx, cutoff, 10); err != nil || n != 1 {
		t.Fatalf("PruneRequests(limit 10) = %d, %v; want the 1 left before the cutoff", n, err)
	}
	if n, err := h.s.PruneRequests(h.ctx, cutoff, 10); err != nil || n != 0 {
		t.Fatalf("PruneRequests(again) = %d, %v; want 0", n, err)
	}
	left, err := h.s.RecentRequests(h.ctx, a.ID, 10)
	if err != nil || len(left) != 2 || left[0].EventID != ids[3] || left[1].EventID != ids[2] {
		t.Fatalf("left after pruning: %+v, %v; want the two newest", left, err)
	}
	// Only the oldest rows are looked at: a cutoff that the oldest remaining row does not
	// meet deletes nothing even if a later row would.
	if n, err := h.s.PruneRequests(h.ctx, t0.Add(-time.Hour), 1); err != nil || n != 1 {
		t.Fatalf("PruneRequests(1 h) = %d, %v; want the day-old row", n, err)
	}
	if n, err := h.s.PruneRequests(h.ctx, t0, 0); err != nil || n != 0 {
		t.Fatalf("PruneRequests(limit 0) = %d, %v; want nothing", n, err)
	}
}
