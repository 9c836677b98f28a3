package lnd

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
)

// subscriber is one Subscribe call: an unbounded queue, so a slow reader never makes
// the streams drop or block.
type subscriber struct {
	queue []lightning.Event
	wake  chan struct{} // capacity 1
}

// Subscribe streams settled invoices (also incoming keysends), accepted hold invoices
// and sent payments from now on, until ctx ends or the backend closes. LND being down
// is not an error: events flow again once the streams reconnect, and settled invoices
// missed meanwhile are replayed (by settle index).
func (b *Backend) Subscribe(ctx context.Context) (<-chan lightning.Event, error) {
	out := make(chan lightning.Event)
	sub := &subscriber{wake: make(chan struct{}, 1)}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		close(out)
		return out, nil
	}
	b.subs[sub] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		defer close(out)
		defer func() {
			b.mu.Lock()
			delete(b.subs, sub)
			b.mu.Unlock()
		}()
		for {
			b.mu.Lock()
			batch := sub.queue
			sub.queue = nil
			b.mu.Unlock()
			for _, ev := range batch {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				case <-b.ctx.Done():
					return
				}
			}
			select {
			case <-sub.wake:
			case <-ctx.Done():
				return
			case <-b.ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// broadcast queues ev for every subscriber.
func (b *Backend) broadcast(ev lightning.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for sub := range b.subs {
		sub.queue = append(sub.queue, ev)
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

// emitPaymentSent announces a succeeded payment once, whether the pay call or the
// TrackPayments stream sees it first.
func (b *Backend) emitPaymentSent(p lightning.Payment) {
	if p.State != lightning.PaymentSucceeded {
		return
	}
	b.mu.Lock()
	fresh := b.sent.add(p.PaymentHash)
	b.mu.Unlock()
	if fresh {
		b.broadcast(lightning.Event{Type: lightning.EventPaymentSent, Payment: &p})
	}
}

func (b *Backend) startStreams() {
	b.wg.Add(2)
	go func() { defer b.wg.Done(); b.invoiceLoop() }()
	go func() { defer b.wg.Done(); b.paymentLoop() }()
}

// backoff grows from 100ms to 5s, with jitter so many services do not hammer a node
// that comes back all at once.
type backoff struct{ d time.Duration }

func (bo *backoff) wait(ctx context.Context) bool {
	if bo.d == 0 {
		bo.d = 100 * time.Millisecond
	} else {
		bo.d = min(bo.d*2, 5*time.Second)
	}
	d := bo.d/2 + rand.N(bo.d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (bo *backoff) reset() { bo.d = 0 }

// invoiceLoop keeps one SubscribeInvoices stream open: settled invoices become events,
// and hold invoices it sees added get a watcher for their accepted state.
func (b *Backend) invoiceLoop() {
	var bo backoff
	for b.ctx.Err() == nil {
		if !b.hasBaseline() {
			if err := b.loadBaseline(b.ctx); err != nil {
				b.log.Debug("lnd invoice baseline", "err", err)
				bo.wait(b.ctx)
				continue
			}
		}
		got, err := b.streamInvoices(b.ctx)
		if b.ctx.Err() != nil {
			return
		}
		if got {
			bo.reset()
		}
		b.log.Debug("lnd invoice stream ended; reconnecting", "err", err)
		bo.wait(b.ctx)
	}
}

func (b *Backend) hasBaseline() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.baseline
}

// loadBaseline finds where to resume from — the newest add index and the highest
// settle index among recent invoices (LND has no call for the latter; an older
// invoice settled late is at worst announced twice, which consumers tolerate) — and
// starts watchers for the hold invoices still open.
func (b *Backend) loadBaseline(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	v := url.Values{"reversed": {"true"}, "num_max_invoices": {"200"}}
	r, err := b.listInvoices(ctx, v)
	if err != nil {
		return err
	}
	var settle uint64
	for _, inv := range r.Invoices {
		settle = max(settle, uint64(inv.SettleIndex))
	}
	var holds []string
	offset := uint64(0)
	for {
		v := url.Values{"pending_only": {"true"}, "index_offset": {strconv.FormatUint(offset, 10)}, "num_max_invoices": {"1000"}}
		p, err := b.listInvoices(ctx, v)
		if err != nil {
			return err
		}
		for i := range p.Invoices {
			if isHoldCandidate(&p.Invoices[i]) {
				holds = append(holds, hex.EncodeToString(p.Invoices[i].RHash))
			}
		}
		if len(p.Invoices) == 0 || uint64(p.LastIndexOffset) <= offset {
			break
		}
		offset = uint64(p.LastIndexOffset)
	}
	b.mu.Lock()
	b.lastAdd = max(b.lastAdd, uint64(r.LastIndexOffset))
	b.lastSettle = max(b.lastSettle, settle)
	b.baseline = true
	b.mu.Unlock()
	for _, h := range holds {
		b.watchHold(h)
	}
	return nil
}

// streamInvoices follows SubscribeInvoices from the last indexes seen; got reports
// whether anything arrived (the connection worked).
func (b *Backend) streamInvoices(ctx context.Context) (got bool, err error) {
	b.mu.Lock()
	v := url.Values{"add_index": {strconv.FormatUint(b.lastAdd, 10)}, "settle_index": {strconv.FormatUint(b.lastSettle, 10)}}
	b.mu.Unlock()
	s, _, err := b.openStream(ctx, request{method: "GET", path: "/v1/invoices/subscribe?" + v.Encode()})
	if err != nil {
		return false, err
	}
	defer s.close()
	for {
		var r rpcInvoice
		if err := s.next(ctx, &r); err != nil {
			return got, err
		}
		got = true
		b.onInvoice(&r)
	}
}

func (b *Backend) onInvoice(r *rpcInvoice) {
	b.mu.Lock()
	newAdd := uint64(r.AddIndex) > b.lastAdd
	if newAdd {
		b.lastAdd = uint64(r.AddIndex)
	}
	settled := r.State == "SETTLED" && uint64(r.SettleIndex) > b.lastSettle
	if settled {
		b.lastSettle = uint64(r.SettleIndex)
	}
	b.mu.Unlock()
	if newAdd && isHoldCandidate(r) {
		b.watchHold(hex.EncodeToString(r.RHash))
	}
	if settled {
		inv := b.invoiceFromRPC(r, time.Now())
		b.broadcast(lightning.Event{Type: lightning.EventInvoiceSettled, Invoice: &inv})
	}
}

// watchHold follows one hold invoice (SubscribeSingleInvoice) until it is settled or
// canceled: LND reports the accepted state only on that stream.
func (b *Backend) watchHold(hash string) {
	b.mu.Lock()
	if b.closed || b.holds[hash] {
		b.mu.Unlock()
		return
	}
	b.holds[hash] = true
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		defer func() {
			b.mu.Lock()
			delete(b.holds, hash)
			b.mu.Unlock()
		}()
		b.holdLoop(hash)
	}()
}

func (b *Backend) holdLoop(hash string) {
	raw, err := hex.DecodeString(hash)
	if err != nil {
		return
	}
	path := "/v2/invoices/subscribe/" + base64.URLEncoding.EncodeToString(raw)
	announced := false
	var bo backoff
	for b.ctx.Err() == nil {
		s, _, err := b.openStream(b.ctx, request{method: "GET", path: path})
		if err == nil {
			done := false
			for {
				var r rpcInvoice
				if err = s.next(b.ctx, &r); err != nil {
					break
				}
				bo.reset()
				switch r.State {
				case "ACCEPTED":
					if !announced {
						announced = true
						inv := b.invoiceFromRPC(&r, time.Now())
						b.broadcast(lightning.Event{Type: lightning.EventHoldInvoiceAccepted, Invoice: &inv})
					}
				case "SETTLED", "CANCELED":
					done = true
				}
				if done {
					break
				}
			}
			s.close()
			if done {
				return
			}
		}
		if errors.Is(err, lightning.ErrNotFound) || b.ctx.Err() != nil {
			return
		}
		b.log.Debug("lnd hold invoice stream ended; reconnecting", "hash", hash, "err", err)
		bo.wait(b.ctx)
	}
}

// paymentLoop follows TrackPayments for payments made on the node by other tools;
// payments made through this backend are announced by the pay call already.
func (b *Backend) paymentLoop() {
	var bo backoff
	for b.ctx.Err() == nil {
		s, _, err := b.openStream(b.ctx, request{method: "GET", path: "/v2/router/payments?no_inflight_updates=true"})
		if err == nil {
			for {
				var r rpcPayment
				if err = s.next(b.ctx, &r); err != nil {
					break
				}
				bo.reset()
				b.emitPaymentSent(b.paymentFromRPC(&r))
			}
			s.close()
		}
		if b.ctx.Err() != nil {
			return
		}
		if routeMissing(err) || errors.Is(err, lightning.ErrNotSupported) {
			return // no routerrpc: nothing to follow
		}
		b.log.Debug("lnd payment stream ended; reconnecting", "err", err)
		bo.wait(b.ctx)
	}
}

// recentSet remembers the last n keys.
type recentSet struct {
	keys map[string]struct{}
	ring []string
	next int
}

func newRecentSet(n int) *recentSet {
	return &recentSet{keys: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add reports whether k was new.
func (r *recentSet) add(k string) bool {
	if _, ok := r.keys[k]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.keys, old)
	}
	r.ring[r.next] = k
	r.next = (r.next + 1) % len(r.ring)
	r.keys[k] = struct{}{}
	return true
}
