package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// isPay reports whether method waits for a Lightning payment (long default timeout).
func isPay(m nip47.Method) bool {
	switch m {
	case nip47.MethodPayInvoice, nip47.MethodPayKeysend, nip47.MethodMultiPayInvoice, nip47.MethodMultiPayKeysend:
		return true
	}
	return false
}

func (c *Client) timeoutFor(m nip47.Method) time.Duration {
	switch {
	case c.cfg.timeout > 0:
		return c.cfg.timeout
	case isPay(m):
		return DefaultPayTimeout
	}
	return DefaultCallTimeout
}

// Call sends a request for any method and decodes the result into result (a pointer, or
// nil to ignore it). params is marshalled as the request's params (nil means {}). A wallet
// error is returned as *nip47.Error, whatever its code. Use it for methods this package
// has no typed method for.
func (c *Client) Call(ctx context.Context, method nip47.Method, params, result any) error {
	var resp *nip47.Response
	err := c.exchange(ctx, method, params, 1, func(_ *nostr.Event, r *nip47.Response) bool {
		resp = r
		return true
	})
	if err != nil {
		return err
	}
	if resp.Error != nil {
		return resp.Error
	}
	if result == nil {
		return nil
	}
	if err := resp.Decode(result); err != nil {
		return fmt.Errorf("client: %s: %w", method, err)
	}
	return nil
}

// handler gets each response to a request; it returns true when it needs no more.
type handler func(ev *nostr.Event, resp *nip47.Response) bool

type publishOutcome struct {
	res *relaypool.PublishResult
	err error
}

// exchange seals and publishes one request and passes its responses (matched by e tag;
// the subscription guarantees the author) to handle until handle is satisfied, the call
// times out or the client closes. want is how many responses may queue up at once.
func (c *Client) exchange(ctx context.Context, method nip47.Method, params any, want int, handle handler) error {
	req, err := nip47.NewRequest(method, params)
	if err != nil {
		return fmt.Errorf("client: %s: %w", method, err)
	}
	now := time.Now()
	var ev *nostr.Event
	if c.scheme == nip47.EncryptionNIP04 && c.cfg.noEncTag {
		ev, err = c.cipher.SealLegacyRequest(c.uri.Secret, c.uri.WalletPubKey, req, now)
	} else {
		ev, err = c.cipher.SealRequest(c.uri.Secret, c.uri.WalletPubKey, c.scheme, req, now)
	}
	if err != nil {
		return fmt.Errorf("client: %s: %w", method, err)
	}

	responses := make(chan *nostr.Event, want)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.waiters[ev.ID] = responses
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiters, ev.ID)
		c.mu.Unlock()
	}()

	timeout := c.timeoutFor(method)
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	published := make(chan publishOutcome, 1)
	go func() {
		res, err := c.pool.Publish(callCtx, ev, c.auth())
		published <- publishOutcome{res, err}
	}()
	pending := published
	// The publisher stops as soon as callCtx ends; waiting for it keeps the call the owner
	// of everything it started.
	defer func() {
		cancel()
		if pending != nil {
			<-pending
		}
	}()

	for {
		select {
		case rev := <-responses:
			resp, _, err := c.cipher.DecryptResponse(c.uri.Secret, rev)
			if err != nil {
				c.log.Warn("ignored an unreadable response", "method", method, "err", err)
				continue
			}
			if handle(rev, resp) {
				return nil
			}
		case out := <-pending:
			pending = nil
			switch {
			case out.err == nil || callCtx.Err() != nil:
				// Accepted, or the deadline came first: the next case reports it.
			case errors.Is(out.err, relaypool.ErrClosed):
				return ErrClosed
			default:
				return fmt.Errorf("%w: %s: %s", ErrPublish, method, relayOutcomes(out.res, out.err))
			}
		case <-callCtx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("client: %s: %w", method, ctx.Err())
			}
			return fmt.Errorf("%w: %s: no answer after %v: %w", ErrTimeout, method,
				time.Since(now).Round(time.Millisecond), context.DeadlineExceeded)
		case <-c.demuxDone:
			return ErrClosed
		}
	}
}

// relayOutcomes says why each relay did not take an event.
func relayOutcomes(res *relaypool.PublishResult, err error) string {
	if res == nil {
		return err.Error()
	}
	var b strings.Builder
	for i, r := range res.Results() {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(r.URL + ": " + r.Status.String())
		if r.Message != "" {
			b.WriteString(" (" + r.Message + ")")
		}
	}
	if b.Len() == 0 {
		return err.Error()
	}
	return b.String()
}
