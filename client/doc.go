// Package client is the Go SDK for apps that talk to a Nostr Wallet Connect (NIP-47)
// wallet: pay and create invoices, look up transactions, read the balance and listen to
// payment notifications through any NWC wallet service.
//
// Connect with the URI the wallet gave the user:
//
//	c, err := client.Dial(ctx, "nostr+walletconnect://...")
//	if err != nil { ... }
//	defer c.Close()
//	res, err := c.PayInvoice(ctx, "lnbc...")
//
// Dial connects to every relay of the URI, reads the wallet's info event (kind 13194) and
// picks NIP-44 encryption when the wallet offers it, NIP-04 otherwise.
//
// # Amounts and times
//
// Every amount is an int64 number of millisatoshis (msat), as on the wire; every time is
// unix seconds, as in the nip47 types the methods return.
//
// # Errors
//
// When the wallet answers with an error, methods return it as a *nip47.Error, which keeps
// the wallet's code (verbatim, even codes this package does not know) and message, and
// works with errors.Is:
//
//	if errors.Is(err, nip47.ErrQuotaExceeded) { ... }
//
// Unknown codes match nip47.ErrOther. Failures to reach the wallet are distinct:
// ErrTimeout (no answer in time; a payment may still have happened, so look it up with
// LookupInvoice before retrying), ErrPublish (no relay took the request) and ErrNoInfo
// (Dial found no info event). Params rejected before sending wrap nip47.ErrInvalidParams.
//
// # Timeouts
//
// Each call waits at most 60 s for the pay methods and 10 s for the others (the defaults
// of Alby's js-sdk), or the duration set with WithTimeout, or until ctx ends, whichever
// comes first.
//
// # Concurrency
//
// A Client is safe for use by many goroutines at once. All calls share one response
// subscription per client ({kinds:[23195], authors:[wallet]}), and responses are handed
// to the waiting call by their e tag, so the number of calls in flight is not limited by
// the relays' subscription limits.
package client
