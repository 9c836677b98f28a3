package client

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// MultiPayResult is the outcome of each element of a multi-pay call, by element ID.
// Every element is in exactly one of the maps.
type MultiPayResult struct {
	Results map[string]*nip47.PayInvoiceResult
	// Errors holds the wallet's *nip47.Error for the element, or the call's error (e.g.
	// ErrTimeout) for elements the wallet never answered.
	Errors map[string]error
}

// MultiPayInvoice pays several invoices in one request (multi_pay_invoice: removed from
// NIP-47 in 2026-02, still served by Alby Hub and this project's service). The wallet
// answers each element separately, tagged with its ID; elements without an ID get
// "#<index>" (their position in items). The error is nil only if every element was
// answered; the result is returned in every case but a local params error.
func (c *Client) MultiPayInvoice(ctx context.Context, items []nip47.MultiPayInvoiceItem) (*MultiPayResult, error) {
	p := nip47.MultiPayInvoiceParams{Invoices: append([]nip47.MultiPayInvoiceItem(nil), items...)}
	ids := make([]string, len(items))
	for i := range p.Invoices {
		it := &p.Invoices[i]
		if it.ID == "" {
			it.ID = "#" + strconv.Itoa(i)
		}
		if err := it.Validate(); err != nil {
			return nil, fmt.Errorf("client: %s: element %s: %w", nip47.MethodMultiPayInvoice, it.ID, err)
		}
		ids[i] = it.ID
	}
	return c.multiPay(ctx, nip47.MethodMultiPayInvoice, &p, ids)
}

// MultiPayKeysend makes several keysend payments in one request (multi_pay_keysend);
// see MultiPayInvoice.
func (c *Client) MultiPayKeysend(ctx context.Context, items []nip47.MultiPayKeysendItem) (*MultiPayResult, error) {
	p := nip47.MultiPayKeysendParams{Keysends: append([]nip47.MultiPayKeysendItem(nil), items...)}
	ids := make([]string, len(items))
	for i := range p.Keysends {
		it := &p.Keysends[i]
		if it.ID == "" {
			it.ID = "#" + strconv.Itoa(i)
		}
		if err := it.Validate(); err != nil {
			return nil, fmt.Errorf("client: %s: element %s: %w", nip47.MethodMultiPayKeysend, it.ID, err)
		}
		ids[i] = it.ID
	}
	return c.multiPay(ctx, nip47.MethodMultiPayKeysend, &p, ids)
}

// multiPay collects one response per element ID (d tag) until all are in.
func (c *Client) multiPay(ctx context.Context, method nip47.Method, params nip47.Params, ids []string) (*MultiPayResult, error) {
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("client: %s: %w", method, err)
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		if want[id] {
			return nil, fmt.Errorf("client: %s: %w: duplicate element id %q", method, nip47.ErrInvalidParams, id)
		}
		want[id] = true
	}
	res := &MultiPayResult{Results: map[string]*nip47.PayInvoiceResult{}, Errors: map[string]error{}}
	var whole error
	err := c.exchange(ctx, method, params, len(ids)+1, func(ev *nostr.Event, resp *nip47.Response) bool {
		d, ok := nip47.ItemID(ev)
		if !ok {
			// One answer without d for the whole request: params refused, method unknown, ...
			if resp.Error != nil {
				whole = resp.Error
				return true
			}
			return false
		}
		if !want[d] {
			return false
		}
		delete(want, d)
		if resp.Error != nil {
			res.Errors[d] = resp.Error
		} else {
			var r nip47.PayInvoiceResult
			if err := resp.Decode(&r); err != nil {
				res.Errors[d] = fmt.Errorf("client: %s: %w", method, err)
			} else {
				res.Results[d] = &r
			}
		}
		return len(want) == 0
	})
	if whole != nil {
		err = whole
	}
	if err != nil {
		for id := range want {
			res.Errors[id] = err
		}
		return res, err
	}
	return res, nil
}
