package relaypool

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// Status is the outcome of a publish on one relay.
type Status int

// Publish outcomes.
const (
	StatusPending      Status = iota // no answer yet
	StatusAccepted                   // OK true (including "duplicate:")
	StatusRejected                   // OK false; Message has the relay's reason
	StatusTimeout                    // sent, but no OK within PublishTimeout
	StatusNotConnected               // the relay was not connected at any time before PublishTimeout
	StatusFailed                     // relay removed or pool closed before an answer
)

func (s Status) String() string {
	switch s {
	case StatusPending:
		return "pending"
	case StatusAccepted:
		return "accepted"
	case StatusRejected:
		return "rejected"
	case StatusTimeout:
		return "timeout"
	case StatusNotConnected:
		return "not connected"
	case StatusFailed:
		return "failed"
	}
	return "unknown"
}

// RelayResult is the outcome of a publish on one relay.
type RelayResult struct {
	URL     string
	Status  Status
	Message string // the relay's OK message, or why there is none
}

// PublishResult follows one event's publication on every relay of the pool. Relays that had
// not answered when Publish returned keep being tracked until they answer or PublishTimeout.
type PublishResult struct {
	p        *Pool
	id       nostr.EventID
	urls     []string
	accepted chan struct{} // closed on the first OK true
	done     chan struct{} // closed when no relay is pending any more
	timer    *time.Timer

	mu          sync.Mutex // writers also hold Pool.mu
	results     map[string]*RelayResult
	pending     int
	anyAccepted bool
	onDone      func(error) // PublishAsync's callback; called once, then nil
}

// pubTarget is one publish waiting on one relay. Guarded by Pool.mu.
type pubTarget struct {
	res       *PublishResult
	msg       []byte
	conn      *conn // the connection the EVENT was sent on, nil if not sent (yet/again)
	authTried bool
	authKey   *nostr.SecretKey
}

// Publish sends ev to every relay of the pool (relays that are reconnecting get it once
// connected) and returns as soon as one relay accepts it. It fails with ErrNotAccepted if
// every relay refused or timed out, or ctx ended first. The result is returned in every case
// (except ErrClosed/ErrNoRelays) so that per-relay outcomes can be inspected.
func (p *Pool) Publish(ctx context.Context, ev *nostr.Event, opts ...SubOption) (*PublishResult, error) {
	res, err := p.startPublish(ev, nil, opts)
	if err != nil {
		return nil, err
	}
	select {
	case <-res.accepted:
		return res, nil
	case <-res.done:
		if res.Accepted() {
			return res, nil
		}
		return res, fmt.Errorf("%w: %s", ErrNotAccepted, res.summary())
	case <-ctx.Done():
		if res.Accepted() {
			return res, nil
		}
		return res, fmt.Errorf("%w: %w", ErrNotAccepted, ctx.Err())
	}
}

// PublishAsync is Publish without waiting: it returns once ev is queued for every relay
// (or at once with ErrClosed or ErrNoRelays), and calls done, if not nil, exactly once:
// with nil when the first relay accepts ev, or with an ErrNotAccepted error when every
// relay refused it or timed out. done runs on one of the pool's goroutines with the pool
// locked: it must be quick and must not call the pool. A caller that answers many
// requests saves a goroutine wake-up per answer.
func (p *Pool) PublishAsync(ev *nostr.Event, done func(error), opts ...SubOption) error {
	_, err := p.startPublish(ev, done, opts)
	return err
}

// startPublish queues ev for every relay and returns its result, tracked until every
// relay answered or PublishTimeout.
func (p *Pool) startPublish(ev *nostr.Event, done func(error), opts []SubOption) (*PublishResult, error) {
	cfg := p.callConfig(opts)
	msg := appendEventEnvelope("EVENT", ev)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if len(p.relays) == 0 {
		p.mu.Unlock()
		return nil, ErrNoRelays
	}
	res := &PublishResult{
		p: p, id: ev.ID, urls: append([]string(nil), p.order...),
		accepted: make(chan struct{}), done: make(chan struct{}),
		results: make(map[string]*RelayResult, len(p.order)), pending: len(p.order), onDone: done,
	}
	for _, u := range p.order {
		res.results[u] = &RelayResult{URL: u, Status: StatusPending}
		r := p.relays[u]
		t := &pubTarget{res: res, msg: msg, authKey: cfg.authKey}
		r.pubs[ev.ID] = append(r.pubs[ev.ID], t)
		if r.conn != nil {
			t.conn = r.conn
			r.conn.enqueue(msg, p.opts.MaxQueueBytes)
		}
	}
	p.pubs[res] = struct{}{}
	res.timer = time.AfterFunc(p.opts.PublishTimeout, func() { p.expire(res) })
	p.mu.Unlock()
	return res, nil
}

// ID is the published event's id.
func (r *PublishResult) ID() nostr.EventID { return r.id }

// Accepted reports whether at least one relay accepted the event.
func (r *PublishResult) Accepted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.anyAccepted
}

// Results returns the current outcome on every relay, in the pool's relay order.
func (r *PublishResult) Results() []RelayResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RelayResult, 0, len(r.urls))
	for _, u := range r.urls {
		out = append(out, *r.results[u])
	}
	return out
}

// Wait blocks until no relay is pending any more (at most PublishTimeout after Publish)
// or ctx ends, and returns Results.
func (r *PublishResult) Wait(ctx context.Context) ([]RelayResult, error) {
	select {
	case <-r.done:
		return r.Results(), nil
	case <-ctx.Done():
		return r.Results(), ctx.Err()
	}
}

func (r *PublishResult) summary() string {
	var b strings.Builder
	for i, rr := range r.Results() {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", rr.URL, rr.Status)
		if rr.Message != "" {
			fmt.Fprintf(&b, " (%s)", truncate(rr.Message, 100))
		}
	}
	return b.String()
}

// finish records the final outcome on one relay. Called with Pool.mu held.
func (r *PublishResult) finish(url string, st Status, msg string) {
	r.mu.Lock()
	rr := r.results[url]
	if rr == nil || rr.Status != StatusPending {
		r.mu.Unlock()
		return
	}
	rr.Status, rr.Message = st, msg
	r.pending--
	var call func(error)
	refused := false
	if st == StatusAccepted && !r.anyAccepted {
		r.anyAccepted = true
		close(r.accepted)
		call, r.onDone = r.onDone, nil
	}
	if r.pending == 0 {
		close(r.done)
		if r.timer != nil {
			r.timer.Stop()
		}
		delete(r.p.pubs, r)
		if !r.anyAccepted {
			call, r.onDone, refused = r.onDone, nil, true
		}
	}
	r.mu.Unlock()
	switch {
	case call == nil:
	case refused:
		call(fmt.Errorf("%w: %s", ErrNotAccepted, r.summary()))
	default:
		call(nil)
	}
}

// expire ends every relay still pending when PublishTimeout is reached.
func (p *Pool) expire(res *PublishResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, u := range res.urls {
		r := p.relays[u]
		if r == nil {
			continue
		}
		for _, t := range r.pubs[res.id] {
			if t.res != res {
				continue
			}
			if t.conn != nil {
				res.finish(u, StatusTimeout, "no OK from the relay")
			} else {
				res.finish(u, StatusNotConnected, fmt.Sprint("not connected: ", r.lastErr))
			}
		}
		p.dropTarget(r, res)
	}
	for _, u := range res.urls { // e.g. removed and added again: not this relay object
		res.finish(u, StatusFailed, "relay removed")
	}
}

// dropTarget forgets res's target on r. Called with Pool.mu held.
func (p *Pool) dropTarget(r *relay, res *PublishResult) {
	ts := r.pubs[res.id]
	for i, t := range ts {
		if t.res == res {
			ts = append(ts[:i:i], ts[i+1:]...)
			break
		}
	}
	if len(ts) == 0 {
		delete(r.pubs, res.id)
	} else {
		r.pubs[res.id] = ts
	}
}

func (p *Pool) handleOK(c *conn, id nostr.EventID, ok bool, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st := c.authIDs[id]; st != nil {
		p.authAnswered(c, st, ok, msg)
		return
	}
	r := c.r
	for _, t := range append([]*pubTarget(nil), r.pubs[id]...) {
		if t.conn != c {
			continue
		}
		if ok {
			t.res.finish(r.url, StatusAccepted, msg)
			p.dropTarget(r, t.res)
			continue
		}
		if hasPrefix(msg, "auth-required") && !t.authTried {
			if keys := p.keysFor(r.url, t.authKey); len(keys) > 0 {
				t.authTried = true
				p.authenticate(c, keys, func(authOK bool) {
					if t.conn != c || t.res.results[r.url].Status != StatusPending {
						return // reconnected, expired or answered meanwhile
					}
					if authOK {
						c.enqueue(t.msg, p.opts.MaxQueueBytes)
						return
					}
					t.res.finish(r.url, StatusRejected, msg)
					p.dropTarget(r, t.res)
				})
				continue
			}
		}
		t.res.finish(r.url, StatusRejected, msg)
		p.dropTarget(r, t.res)
	}
}
