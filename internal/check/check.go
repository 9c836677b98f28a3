// Package check is a conformance battery for any Nostr Wallet Connect (NIP-47) wallet,
// run through its connection URI as an app would (`nwc check URI`).
//
// It works at the protocol level (nip47 + relaypool, not the client SDK) so that it sees
// what an SDK hides: the tags of each answer, its result_type, the scheme it is encrypted
// with, answers that arrive without an e tag. Requests are sent one at a time; every
// answer is recorded, and besides the per-method checks a few checks look at all answers
// together (e tags, p tags, result_type, error objects, encryption).
//
// Nothing is spent unless Options.SpendMax allows it: then the wallet pays an invoice it
// made itself (1 sat), which also exercises lookup after payment and notifications.
//
// Statuses: pass; fail (breaks NIP-47, or answers that a client cannot use); warn (a
// SHOULD of the spec, or a known variation between deployed wallets); skip (not
// advertised, or cannot be observed here, with the reason).
package check

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nwc-go/nwc/nostr/relaypool"
)

// ErrTransport: the relays of the URI could not be reached, or none took a request. The
// report holds what was checked before.
var ErrTransport = errors.New("check: cannot reach the wallet's relays")

// Status is the outcome of one check.
type Status string

// Statuses.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
	Skip Status = "skip"
)

// Result is one line of the report.
type Result struct {
	ID     string `json:"id"` // stable, e.g. "lookup_invoice.unknown_hash"
	Title  string `json:"title"`
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Summary counts the results by status.
type Summary struct {
	Pass int `json:"pass"`
	Fail int `json:"fail"`
	Warn int `json:"warn"`
	Skip int `json:"skip"`
}

// Report is the outcome of a run.
type Report struct {
	Wallet      string    `json:"wallet"` // the wallet service key (hex)
	Relays      []string  `json:"relays"`
	Methods     []string  `json:"methods,omitempty"`     // as advertised by the info event
	Encryptions []string  `json:"encryptions,omitempty"` // as advertised by the info event
	Requests    int       `json:"requests"`              // request events sent
	SpentMSat   int64     `json:"spent_msat"`            // amount + fees of the self-payment
	Started     time.Time `json:"started"`
	Duration    string    `json:"duration"`
	Results     []Result  `json:"results"`
	Summary     Summary   `json:"summary"`
}

// OK reports whether no check failed.
func (r *Report) OK() bool { return r.Summary.Fail == 0 }

// Result returns the result with id, if there is one.
func (r *Report) Result(id string) (Result, bool) {
	for _, x := range r.Results {
		if x.ID == id {
			return x, true
		}
	}
	return Result{}, false
}

func (r *Report) add(id, title string, st Status, format string, args ...any) {
	reason := format
	if len(args) > 0 {
		reason = fmt.Sprintf(format, args...)
	}
	r.Results = append(r.Results, Result{ID: id, Title: title, Status: st, Reason: reason})
	switch st {
	case Pass:
		r.Summary.Pass++
	case Fail:
		r.Summary.Fail++
	case Warn:
		r.Summary.Warn++
	case Skip:
		r.Summary.Skip++
	}
}

// WriteTable prints the report as an aligned table with a summary line.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "wallet %s on %s\n\n", r.Wallet, strings.Join(r.Relays, " "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tREASON")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(string(x.Status)), x.Title, oneLine(x.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d passed, %d failed, %d warnings, %d skipped; %d requests, %d msat spent, %s\n",
		r.Summary.Pass, r.Summary.Fail, r.Summary.Warn, r.Summary.Skip, r.Requests, r.SpentMSat, r.Duration)
	return err
}

// WriteMarkdown prints the results as a Markdown table (for docs).
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintln(w, "| status | check | reason |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, x := range r.Results {
		fmt.Fprintf(w, "| %s | %s | %s |\n", strings.ToUpper(string(x.Status)), mdEscape(x.Title), mdEscape(oneLine(x.Reason)))
	}
	_, err := fmt.Fprintf(w, "\n%d passed, %d failed, %d warnings, %d skipped.\n", r.Summary.Pass, r.Summary.Fail, r.Summary.Warn, r.Summary.Skip)
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Options tune a run. The zero value checks without spending.
type Options struct {
	// SpendMax is how much (msat, amount + fees) the check may spend paying the wallet's
	// own invoice; 0 spends nothing and skips the checks that need a payment.
	SpendMax int64
	// Timeout is how long to wait for each answer (default 15s).
	Timeout time.Duration
	// Silence is how long an answer must stay away where none is expected, e.g. to a
	// request whose expiration has passed (default 3s).
	Silence time.Duration
	// Logger gets the traffic at Debug (default: discard). Secrets are never logged.
	Logger *slog.Logger
	// Pool tunes the relay pool (reconnect backoff and timeouts; AuthKeys is set to the
	// URI's key).
	Pool relaypool.Options
	// Clock (default time.Now).
	Clock func() time.Time
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Silence <= 0 {
		o.Silence = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
}
