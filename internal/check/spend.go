package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// ---- the self-payment and notifications ---------------------------------------------

// expectedNotifications are the notification types a payment should trigger, from the
// info event; nil when the wallet does not advertise notifications.
func (b *battery) expectedNotifications() []string {
	if !b.info.Notifications {
		return nil
	}
	all := []string{nip47.NotificationPaymentReceived, nip47.NotificationPaymentSent}
	if len(b.info.NotificationTypes) == 0 {
		return all // capability without the tag: expect the two every wallet has
	}
	var out []string
	for _, t := range all {
		if slices.Contains(b.info.NotificationTypes, t) {
			out = append(out, t)
		}
	}
	return out
}

// notificationKinds are the kinds a client of the wallet listens to, preferred first.
func (b *battery) notificationKinds() []int {
	var kinds []int
	if b.info.SupportsEncryption(nip47.EncryptionNIP44) {
		kinds = append(kinds, nip47.KindNotification)
	}
	if b.info.SupportsEncryption(nip47.EncryptionNIP04) {
		kinds = append(kinds, nip47.KindNotificationNIP04)
	}
	return kinds
}

const (
	selfPayID    = "pay_invoice.self"
	selfPayTitle = "pay_invoice (self-payment of 1 sat)"
	paidID       = "lookup_invoice.paid"
	paidTitle    = "lookup_invoice after the payment"
)

func (b *battery) spendChecks(ctx context.Context) error {
	types := b.expectedNotifications()
	skipAll := func(reason string) {
		b.rep.add(selfPayID, selfPayTitle, Skip, "%s", reason)
		if b.info.Supports(nip47.MethodLookupInvoice) {
			b.rep.add(paidID, paidTitle, Skip, "%s", reason)
		}
		b.skipNotifications(types, reason)
	}
	switch {
	case b.o.SpendMax <= 0:
		skipAll("spends 1 sat: run with --spend-max SATS")
		return nil
	case !b.info.Supports(nip47.MethodMakeInvoice) || !b.info.Supports(nip47.MethodPayInvoice):
		skipAll("needs make_invoice and pay_invoice")
		return nil
	case b.o.SpendMax < invoiceAmount:
		skipAll("--spend-max is below 1 sat")
		return nil
	case b.s.answered == 0 && b.s.timeouts >= silentAfter:
		skipAll("the wallet has not answered any request so far")
		return nil
	}

	// Listen before paying: notifications are ephemeral.
	var notes *relaypool.Subscription
	if len(types) > 0 {
		var err error
		notes, err = b.s.pool.Subscribe(ctx, []nostr.Filter{{
			Kinds: b.notificationKinds(), Authors: []string{b.s.uri.WalletPubKey.String()},
			Tags: map[string][]string{"p": {b.s.uri.Secret.Public().String()}},
		}}, relaypool.WithBufferSize(256), relaypool.WithAuthKey(b.s.uri.Secret))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrTransport, err)
		}
		defer notes.Close()
		select {
		case <-notes.EOSE():
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	x, err := b.call(ctx, nip47.MethodMakeInvoice, map[string]any{"amount": invoiceAmount, "description": "nwc check self-payment"})
	if err != nil {
		return b.transport(selfPayID, selfPayTitle, err)
	}
	var inv nip47.Transaction
	if bad := b.success(x, &inv); bad != nil || inv.Invoice == "" {
		skipAll("make_invoice did not give an invoice to pay")
		return nil
	}

	paid := false
	err = b.check(selfPayID, selfPayTitle, func() (outcome, error) {
		x, err := b.s.call(ctx, nip47.MethodPayInvoice, map[string]any{"invoice": inv.Invoice}, callOpts{scheme: b.scheme, wait: 4 * b.o.Timeout})
		if err != nil {
			return outcome{}, err
		}
		resp, bad := b.answer(x)
		if bad != nil {
			return *bad, nil
		}
		if resp.Error != nil {
			// Paying one's own invoice is not something NIP-47 asks for (LND refuses it
			// unless allow-self-payment is set).
			return skip("the wallet did not pay its own invoice: %s %s", resp.Error.Code, resp.Error.Message), nil
		}
		var r nip47.PayInvoiceResult
		if err := decodeResult(resp, &r); err != nil {
			return fail("%v", err), nil
		}
		paid = true
		b.rep.SpentMSat = invoiceAmount + r.FeesPaid
		switch {
		case sha256Hex(r.Preimage) != strings.ToLower(inv.PaymentHash):
			return fail("preimage %q does not hash to the payment hash", r.Preimage), nil
		case b.rep.SpentMSat > b.o.SpendMax:
			return fail("spent %d msat (fee %d), more than --spend-max %d msat", b.rep.SpentMSat, r.FeesPaid, b.o.SpendMax), nil
		}
		return pass("paid, fee %d msat", r.FeesPaid), nil
	})
	if err != nil {
		return err
	}
	if !paid {
		if b.info.Supports(nip47.MethodLookupInvoice) {
			b.rep.add(paidID, paidTitle, Skip, "no payment was made")
		}
		b.skipNotifications(types, "no payment was made (the wallet cannot pay itself)")
		return nil
	}
	if b.info.Supports(nip47.MethodLookupInvoice) {
		err := b.check(paidID, paidTitle, func() (outcome, error) {
			x, err := b.call(ctx, nip47.MethodLookupInvoice, map[string]any{"payment_hash": inv.PaymentHash})
			if err != nil {
				return outcome{}, err
			}
			var tx nip47.Transaction
			if bad := b.success(x, &tx); bad != nil {
				return *bad, nil
			}
			// Both the incoming and the outgoing row have this hash; either may come back.
			if bad := checkTransaction(&tx, tx.Type, invoiceAmount, inv.PaymentHash); len(bad) > 0 {
				return fail("%s", strings.Join(bad, "; ")), nil
			}
			if tx.State != "" && tx.State != nip47.StateSettled {
				return fail("state %q after the payment, want settled", tx.State), nil
			}
			if tx.Preimage != "" && sha256Hex(tx.Preimage) != strings.ToLower(inv.PaymentHash) {
				return fail("preimage does not hash to the payment hash"), nil
			}
			return pass("%s, state %q", tx.Type, tx.State), nil
		})
		if err != nil {
			return err
		}
	}
	if notes != nil {
		b.notificationChecks(ctx, notes, types, inv.PaymentHash)
	}
	return nil
}

// transport records a transport failure of a step that is not a check of its own.
func (b *battery) transport(id, title string, err error) error {
	if errors.Is(err, errSilent) {
		b.rep.add(id, title, Skip, "the wallet has not answered any request so far")
		return nil
	}
	b.rep.add(id, title, Skip, "not run: %v", err)
	return err
}

func (b *battery) skipNotifications(types []string, reason string) {
	if !b.info.Notifications {
		b.rep.add("notifications", "notifications", Skip, "not advertised")
		return
	}
	for _, t := range types {
		b.rep.add("notification."+t, "notification "+t, Skip, "%s", reason)
	}
}

// notificationChecks waits (Timeout) for one notification of each type, on each kind the
// wallet's schemes call for, about the payment of hash.
func (b *battery) notificationChecks(ctx context.Context, notes *relaypool.Subscription, types []string, hash string) {
	kinds := b.notificationKinds()
	got := map[string]map[int]*nip47.Notification{}
	var unreadable []string
	complete := func() bool {
		for _, t := range types {
			if len(got[t]) < len(kinds) {
				return false
			}
		}
		return true
	}
	timer := time.NewTimer(b.o.Timeout)
	defer timer.Stop()
wait:
	for !complete() {
		select {
		case <-ctx.Done():
			break wait
		case <-timer.C:
			break wait
		case ev, ok := <-notes.Events():
			if !ok {
				break wait
			}
			n, _, err := b.s.cipher.OpenNotification(b.s.uri.Secret, ev)
			if err != nil {
				unreadable = append(unreadable, fmt.Sprintf("kind %d: %v", ev.Kind, err))
				continue
			}
			if !strings.EqualFold(n.Notification.PaymentHash, hash) {
				continue // another payment of the wallet
			}
			if got[n.NotificationType] == nil {
				got[n.NotificationType] = map[int]*nip47.Notification{}
			}
			got[n.NotificationType][ev.Kind] = n
		}
	}
	for _, t := range types {
		id, title := "notification."+t, "notification "+t
		byKind := got[t]
		var seen []string
		for k := range byKind {
			seen = append(seen, fmt.Sprint(k))
		}
		sort.Strings(seen)
		if len(byKind) == 0 {
			reason := fmt.Sprintf("none within %s after the payment", b.o.Timeout)
			if len(unreadable) > 0 {
				reason += "; unreadable notifications: " + strings.Join(unreadable, "; ")
			}
			b.rep.add(id, title, Fail, "%s", reason)
			continue
		}
		var n *nip47.Notification
		for _, v := range byKind {
			n = v
			break
		}
		want := nip47.TransactionIncoming
		if t == nip47.NotificationPaymentSent {
			want = nip47.TransactionOutgoing
		}
		if bad := checkTransaction(&n.Notification, want, invoiceAmount, hash); len(bad) > 0 {
			b.rep.add(id, title, Fail, "%s", strings.Join(bad, "; "))
			continue
		}
		if byKind[kinds[0]] == nil {
			b.rep.add(id, title, Fail, "only on kind %s; a client using %s listens to kind %d", strings.Join(seen, ", "), b.scheme, kinds[0])
			continue
		}
		if len(byKind) < len(kinds) {
			b.rep.add(id, title, Warn, "only kind %s; a wallet with both schemes SHOULD send 23197 and 23196", strings.Join(seen, ", "))
			continue
		}
		b.rep.add(id, title, Pass, "kinds %s", strings.Join(seen, ", "))
	}
}

// ---- expiration ---------------------------------------------------------------------

func (b *battery) expirationCheck(ctx context.Context) error {
	const id, title = "expiration", "request with a past expiration -> no answer"
	if b.s.answered == 0 && b.s.timeouts >= silentAfter {
		b.rep.add(id, title, Skip, "the wallet has not answered any request so far")
		return nil
	}
	exp := b.o.Clock().Add(-time.Minute)
	x, res, err := b.s.send(ctx, b.probe, nil, callOpts{scheme: b.scheme, extra: []nostr.Tag{nip47.ExpirationTag(exp)}})
	if err != nil {
		if errors.Is(err, ErrTransport) && res != nil {
			var refusals []string
			for _, r := range res.Results() {
				if r.Status == relaypool.StatusRejected {
					refusals = append(refusals, fmt.Sprintf("%s: %q", r.URL, r.Message))
				}
			}
			if len(refusals) > 0 {
				b.rep.add(id, title, Skip, "the relays refused the expired request (NIP-40), so the wallet never saw it: %s", strings.Join(refusals, "; "))
				return nil
			}
		}
		b.rep.add(id, title, Skip, "not run: %v", err)
		return err
	}
	if err := b.s.await(ctx, x, 1, b.o.Silence); err != nil {
		return err
	}
	if len(x.answers) > 0 {
		b.rep.add(id, title, Fail, "answered a request that expired at %s", exp.UTC().Format(time.RFC3339))
		return nil
	}
	b.rep.add(id, title, Pass, "no answer within %s", b.o.Silence)
	return nil
}

// ---- all answers together -----------------------------------------------------------

func (b *battery) responseChecks() {
	client := b.s.uri.Secret.Public().String()
	var noE, noP, wrongP, wrongType, wrongScheme, noCode, noMessage, unknownCode, twice []string
	answers := 0
	for _, x := range b.s.exchanges {
		if len(x.answers) > 1 && x.method != nip47.MethodMultiPayInvoice && x.method != nip47.MethodMultiPayKeysend {
			twice = append(twice, fmt.Sprintf("%s (%d answers)", x.method, len(x.answers)))
		}
		for _, a := range x.answers {
			answers++
			m := string(x.method)
			if !a.eTag {
				noE = append(noE, m)
			}
			switch p := a.ev.Tags.Find("p"); {
			case p == nil:
				noP = append(noP, m)
			case p[1] != client:
				wrongP = append(wrongP, m)
			}
			if a.resp == nil {
				continue
			}
			if a.resp.ResultType != x.method && !(x.probe && a.resp.ResultType == "") {
				wrongType = append(wrongType, fmt.Sprintf("%s: %q", m, a.resp.ResultType))
			}
			if a.scheme != x.scheme && !x.probe {
				wrongScheme = append(wrongScheme, fmt.Sprintf("%s: %s request, %s answer", m, x.scheme, a.scheme))
			}
			if e := a.resp.Error; e != nil {
				switch {
				case e.Code == "":
					noCode = append(noCode, m)
				case !e.Code.Known():
					unknownCode = append(unknownCode, fmt.Sprintf("%s: %s", m, e.Code))
				}
				if e.Message == "" {
					noMessage = append(noMessage, m)
				}
			}
		}
	}
	if answers == 0 {
		for _, c := range [][2]string{{"responses.e_tag", "answers: e tag names the request"}, {"responses.p_tag", "answers: p tag names the app"},
			{"responses.result_type", "answers: result_type is the method"}, {"responses.encryption", "answers: same scheme as the request"},
			{"responses.error", "answers: error objects"}, {"responses.once", "answers: one per request"}} {
			b.rep.add(c[0], c[1], Skip, "no answers")
		}
		return
	}
	list := func(xs []string) string { return strings.Join(uniq(xs), ", ") }
	judge := func(id, title string, bad []string, st Status, what string) {
		if len(bad) == 0 {
			b.rep.add(id, title, Pass, "all %d answers", answers)
			return
		}
		b.rep.add(id, title, st, "%d of %d answers %s: %s", len(bad), answers, what, list(bad))
	}
	judge("responses.e_tag", "answers: e tag names the request", noE, Fail, "lack it (clients wait on #e)")
	switch {
	case len(wrongP) > 0:
		b.rep.add("responses.p_tag", "answers: p tag names the app", Fail, "%d answers name another key: %s", len(wrongP), list(wrongP))
	default:
		judge("responses.p_tag", "answers: p tag names the app", noP, Warn, "lack it (SHOULD)")
	}
	judge("responses.result_type", "answers: result_type is the method", wrongType, Fail, "have another result_type")
	judge("responses.encryption", "answers: same scheme as the request", wrongScheme, Fail, "are in another scheme")
	switch {
	case len(noCode) > 0:
		b.rep.add("responses.error", "answers: error objects", Fail, "errors without a code: %s", list(noCode))
	case len(noMessage) > 0:
		b.rep.add("responses.error", "answers: error objects", Warn, "errors without a message: %s", list(noMessage))
	case len(unknownCode) > 0:
		b.rep.add("responses.error", "answers: error objects", Warn, "codes outside NIP-47 (clients must treat them as OTHER): %s", list(unknownCode))
	default:
		b.rep.add("responses.error", "answers: error objects", Pass, "code and message in every error")
	}
	if len(twice) > 0 {
		b.rep.add("responses.once", "answers: one per request", Fail, "answered more than once: %s", list(twice))
	} else {
		b.rep.add("responses.once", "answers: one per request", Pass, "%d requests, none answered twice", len(b.s.exchanges))
	}
}

func uniq(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
