package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
)

func testInvoices(t *testing.T, h *harness) {
	c := h.conn(nil)
	inv := &wallet.Transaction{
		ConnectionID:    c.ID,
		RequestEventID:  h.eventID(),
		Invoice:         "lnbcrt210n1invoice",
		Description:     "zap",
		DescriptionHash: "ab12",
		PaymentHash:     h.hash(),
		Amount:          21_000,
		CreatedAt:       t0,
		ExpiresAt:       t0.Add(time.Hour),
		Metadata:        []byte(`{"nostr":{"kind":9734}}`),
	}
	wantErr(t, "InsertInvoice", h.s.InsertInvoice(h.ctx, inv), nil)
	if inv.ID == 0 || inv.Type != wallet.TxIncoming || inv.State != wallet.StatePending || !inv.UpdatedAt.Equal(t0) {
		t.Fatalf("inserted invoice %+v", inv)
	}
	got, err := h.s.Transaction(h.ctx, c.ID, wallet.TxIncoming, inv.PaymentHash)
	wantErr(t, "Transaction", err, nil)
	checkTx(t, "stored invoice", got, inv)
	if got.StateAt(t0.Add(2*time.Hour)) != wallet.StateExpired {
		t.Fatalf("unpaid invoice past expiry reports %s", got.StateAt(t0.Add(2*time.Hour)))
	}

	dup := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: inv.PaymentHash, Amount: 1, CreatedAt: t0}
	wantErr(t, "InsertInvoice(same hash)", h.s.InsertInvoice(h.ctx, dup), wallet.ErrExists)
	bad := &wallet.Transaction{Type: wallet.TxOutgoing, PaymentHash: h.hash(), Amount: 1, CreatedAt: t0}
	if err := h.s.InsertInvoice(h.ctx, bad); err == nil {
		t.Fatal("InsertInvoice accepted an outgoing transaction")
	}

	// Amount-less invoice: the received amount is recorded.
	at := t0.Add(10 * time.Minute)
	s1, err := h.s.SettleInvoice(h.ctx, inv.PaymentHash, "pre", 25_000, at)
	wantErr(t, "SettleInvoice", err, nil)
	want := *inv
	want.State, want.Preimage, want.Amount, want.SettledAt, want.UpdatedAt = wallet.StateSettled, "pre", 25_000, at, at
	checkTx(t, "settled invoice", s1, &want)
	if s1.StateAt(t0.Add(2*time.Hour)) != wallet.StateSettled {
		t.Fatal("settled invoice reports expired")
	}
	s2, err := h.s.SettleInvoice(h.ctx, inv.PaymentHash, "pre", 99_000, at.Add(time.Hour))
	wantErr(t, "SettleInvoice again", err, wallet.ErrAlreadySettled)
	checkTx(t, "row returned by repeated settle", s2, &want)
	got, _ = h.s.Transaction(h.ctx, 0, "", inv.PaymentHash)
	checkTx(t, "stored after repeated settle", got, &want)
	_, err = h.s.MarkInvoiceCanceled(h.ctx, inv.PaymentHash, at)
	wantErr(t, "MarkInvoiceCanceled(settled)", err, wallet.ErrAlreadySettled)

	_, err = h.s.SettleInvoice(h.ctx, h.hash(), "pre", 1, at)
	wantErr(t, "SettleInvoice(unknown)", err, wallet.ErrNotFound)
	_, err = h.s.MarkInvoiceAccepted(h.ctx, h.hash(), 0, at)
	wantErr(t, "MarkInvoiceAccepted(unknown)", err, wallet.ErrNotFound)
	_, err = h.s.MarkInvoiceCanceled(h.ctx, h.hash(), at)
	wantErr(t, "MarkInvoiceCanceled(unknown)", err, wallet.ErrNotFound)

	// An invoice with no owning connection (node-level) is fine.
	node := &wallet.Transaction{PaymentHash: h.hash(), Amount: 1000, CreatedAt: t0}
	wantErr(t, "InsertInvoice(no connection)", h.s.InsertInvoice(h.ctx, node), nil)
	got, err = h.s.Transaction(h.ctx, 0, wallet.TxIncoming, node.PaymentHash)
	if err != nil || got.ConnectionID != 0 {
		t.Fatalf("node-level invoice = %+v, %v", got, err)
	}
}

func testHoldInvoices(t *testing.T, h *harness) {
	c := h.conn(func(c *wallet.Connection) { c.Isolated = true })
	newHold := func() *wallet.Transaction {
		inv := &wallet.Transaction{ConnectionID: c.ID, Hold: true, PaymentHash: h.hash(), Amount: 7000, CreatedAt: t0}
		if err := h.s.InsertInvoice(h.ctx, inv); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	at := t0.Add(time.Minute)

	// pending -> accepted -> settled.
	a := newHold()
	acc, err := h.s.MarkInvoiceAccepted(h.ctx, a.PaymentHash, 850_144, at)
	wantErr(t, "MarkInvoiceAccepted", err, nil)
	if acc.State != wallet.StateAccepted || acc.SettleDeadline != 850_144 || !acc.Hold || !acc.UpdatedAt.Equal(at) {
		t.Fatalf("accepted row %+v", acc)
	}
	again, err := h.s.MarkInvoiceAccepted(h.ctx, a.PaymentHash, 850_144, at)
	wantErr(t, "MarkInvoiceAccepted again", err, wallet.ErrInvalidState)
	if again.State != wallet.StateAccepted {
		t.Fatalf("repeated accept returned state %s", again.State)
	}
	if b := h.balance(c); b != 0 {
		t.Fatalf("accepted hold invoice credited %d", b)
	}
	st, err := h.s.SettleInvoice(h.ctx, a.PaymentHash, "client-preimage", 0, at)
	wantErr(t, "SettleInvoice(accepted)", err, nil)
	if st.State != wallet.StateSettled || st.Amount != 7000 || st.Preimage != "client-preimage" || st.SettleDeadline != 850_144 {
		t.Fatalf("settled hold invoice %+v", st)
	}
	if b := h.balance(c); b != 7000 {
		t.Fatalf("balance after hold settle %d, want 7000", b)
	}

	// pending -> accepted -> canceled; nothing settles a canceled invoice.
	b := newHold()
	if _, err := h.s.MarkInvoiceAccepted(h.ctx, b.PaymentHash, 0, at); err != nil {
		t.Fatal(err)
	}
	cn, err := h.s.MarkInvoiceCanceled(h.ctx, b.PaymentHash, at)
	wantErr(t, "MarkInvoiceCanceled(accepted)", err, nil)
	if cn.State != wallet.StateFailed {
		t.Fatalf("canceled state %s, want failed", cn.State)
	}
	_, err = h.s.MarkInvoiceCanceled(h.ctx, b.PaymentHash, at)
	wantErr(t, "MarkInvoiceCanceled twice", err, wallet.ErrInvalidState)
	_, err = h.s.SettleInvoice(h.ctx, b.PaymentHash, "p", 0, at)
	wantErr(t, "SettleInvoice(canceled)", err, wallet.ErrInvalidState)
	_, err = h.s.MarkInvoiceAccepted(h.ctx, b.PaymentHash, 0, at)
	wantErr(t, "MarkInvoiceAccepted(canceled)", err, wallet.ErrInvalidState)

	// pending -> canceled directly.
	d := newHold()
	if _, err := h.s.MarkInvoiceCanceled(h.ctx, d.PaymentHash, at); err != nil {
		t.Fatalf("MarkInvoiceCanceled(pending): %v", err)
	}
	if b := h.balance(c); b != 7000 {
		t.Fatalf("balance after cancels %d, want 7000", b)
	}
}

func testTransactionLookup(t *testing.T, h *harness) {
	payer := h.conn(nil)
	payee := h.conn(nil)
	// A self-payment: payee's invoice, paid by payer; one hash, both directions.
	inv := &wallet.Transaction{ConnectionID: payee.ID, PaymentHash: h.hash(), Amount: 5000, CreatedAt: t0}
	if err := h.s.InsertInvoice(h.ctx, inv); err != nil {
		t.Fatal(err)
	}
	r := h.reservation(payer, 5000, t0.Add(time.Second))
	r.PaymentHash, r.FeeReserve = inv.PaymentHash, 0
	out := h.reserve(r)

	for _, tc := range []struct {
		name   string
		conn   int64
		typ    wallet.TxType
		wantID int64
		err    error
	}{
		{"payee's view", payee.ID, "", inv.ID, nil},
		{"payer's view", payer.ID, "", out.ID, nil},
		{"incoming, any connection", 0, wallet.TxIncoming, inv.ID, nil},
		{"outgoing, any connection", 0, wallet.TxOutgoing, out.ID, nil},
		{"any: newest row", 0, "", out.ID, nil},
		{"payee asks for outgoing", payee.ID, wallet.TxOutgoing, 0, wallet.ErrNotFound},
		{"unrelated connection", h.conn(nil).ID, "", 0, wallet.ErrNotFound},
	} {
		got, err := h.s.Transaction(h.ctx, tc.conn, tc.typ, inv.PaymentHash)
		wantErr(t, tc.name, err, tc.err)
		if tc.err == nil && got.ID != tc.wantID {
			t.Fatalf("%s: got row %d, want %d", tc.name, got.ID, tc.wantID)
		}
	}
	_, err := h.s.Transaction(h.ctx, 0, "", h.hash())
	wantErr(t, "Transaction(unknown hash)", err, wallet.ErrNotFound)
}

func testListTransactions(t *testing.T, h *harness) {
	a, b := h.conn(nil), h.conn(nil)
	// 30 transactions over 15 seconds (two per second, so ties on created_at
	// are ordered by insertion), alternating connections, types and states.
	type row struct {
		id    int64
		conn  int64
		typ   wallet.TxType
		state wallet.TxState
		at    time.Time
	}
	var rows []row
	for i := range 30 {
		c := a
		if i%3 == 2 {
			c = b
		}
		at := t0.Add(time.Duration(i/2) * time.Second)
		var tx *wallet.Transaction
		if i%2 == 0 {
			inv := &wallet.Transaction{ConnectionID: c.ID, PaymentHash: h.hash(), Amount: wallet.MSat(1000 + i), CreatedAt: at}
			if err := h.s.InsertInvoice(h.ctx, inv); err != nil {
				t.Fatal(err)
			}
			tx = inv
			if i%4 == 0 {
				var err error
				if tx, err = h.s.SettleInvoice(h.ctx, inv.PaymentHash, "p", 0, at.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			tx = h.reserve(h.reservation(c, wallet.MSat(1000+i), at))
			if i%4 == 1 {
				var err error
				if tx, err = h.s.SettlePayment(h.ctx, tx.PaymentHash, "p", 1, at.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			} else if i%4 == 3 && i%3 == 0 {
				var err error
				if tx, err = h.s.FailPayment(h.ctx, tx.PaymentHash, "x", at); err != nil {
					t.Fatal(err)
				}
			}
		}
		rows = append(rows, row{tx.ID, c.ID, tx.Type, tx.State, at})
	}
	// Expected result: filter, then newest first (created_at desc, id desc).
	expect := func(q wallet.TxQuery) []int64 {
		var ids []int64
		for i := len(rows) - 1; i >= 0; i-- {
			r := rows[i]
			switch {
			case q.ConnectionID != 0 && r.conn != q.ConnectionID,
				!q.From.IsZero() && r.at.Before(q.From),
				!q.Until.IsZero() && r.at.After(q.Until),
				q.Type != "" && r.typ != q.Type,
				!q.Unpaid && r.state != wallet.StateSettled:
				continue
			}
			ids = append(ids, r.id)
		}
		return ids
	}
	for _, q := range []wallet.TxQuery{
		{},
		{Unpaid: true},
		{Unpaid: true, ConnectionID: a.ID},
		{Unpaid: true, ConnectionID: b.ID, Type: wallet.TxOutgoing},
		{Type: wallet.TxIncoming},
		{Unpaid: true, From: t0.Add(3 * time.Second), Until: t0.Add(7 * time.Second)}, // inclusive
		{Unpaid: true, From: t0.Add(14 * time.Second)},
		{Unpaid: true, Until: t0},
		{Unpaid: true, From: t0.Add(time.Hour)},
	} {
		want := expect(q)
		// Whole result, then in pages of 4 (and an offset past the end).
		all, total, err := h.s.ListTransactions(h.ctx, q)
		if err != nil {
			t.Fatalf("ListTransactions(%+v): %v", q, err)
		}
		if total != len(want) || fmt.Sprint(ids(all)) != fmt.Sprint(want) {
			t.Fatalf("ListTransactions(%+v) = %v (total %d), want %v", q, ids(all), total, want)
		}
		var paged []int64
		for off := 0; off <= len(want); off += 4 {
			pq := q
			pq.Limit, pq.Offset = 4, off
			page, total, err := h.s.ListTransactions(h.ctx, pq)
			if err != nil || total != len(want) || len(page) > 4 {
				t.Fatalf("page %+v: %d rows, total %d, %v", pq, len(page), total, err)
			}
			paged = append(paged, ids(page)...)
		}
		if fmt.Sprint(paged) != fmt.Sprint(want) {
			t.Fatalf("pages of %+v = %v, want %v", q, paged, want)
		}
	}
	// The listed rows carry the stored fields.
	one, _, err := h.s.ListTransactions(h.ctx, wallet.TxQuery{Limit: 1})
	if err != nil || len(one) != 1 {
		t.Fatalf("ListTransactions(limit 1) = %v, %v", one, err)
	}
	got, err := h.s.Transaction(h.ctx, 0, one[0].Type, one[0].PaymentHash)
	wantErr(t, "Transaction", err, nil)
	checkTx(t, "listed row", &one[0], got)
}

func ids(ts []wallet.Transaction) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}
