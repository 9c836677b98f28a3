package check

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/lightning/bolt11"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// unknownMethod is a method no wallet implements.
const unknownMethod nip47.Method = "nwc_check_no_such_method"

// invoiceAmount is the amount of every invoice the check asks for, and of the one
// self-payment: 1 sat.
const invoiceAmount = 1000

// Run checks the wallet of uri. The error is ErrTransport (the relays could not be reached
// or refused the requests) or ctx's; the report holds what was checked until then.
func Run(ctx context.Context, uri *nip47.ConnectionURI, o Options) (*Report, error) {
	o.defaults()
	start := o.Clock()
	rep := &Report{Wallet: uri.WalletPubKey.String(), Relays: uri.Relays, Started: start}
	defer func() { rep.Duration = o.Clock().Sub(start).Round(time.Millisecond).String() }()
	s, err := dial(ctx, uri, o)
	if err != nil {
		return rep, err
	}
	defer s.close()
	b := &battery{s: s, rep: rep, o: o}
	err = b.run(ctx)
	rep.Requests = len(s.exchanges)
	return rep, err
}

// battery holds what the checks learn from each other.
type battery struct {
	s      *session
	rep    *Report
	o      Options
	info   *nip47.Info
	scheme nip47.Encryption // the one the method checks use
	probe  nip47.Method     // a cheap method for the encryption checks
	// invoice is the one make_invoice created, for the lookup checks.
	invoice *nip47.Transaction
	// holdHash is the payment hash of the hold invoice made, for cancel_hold_invoice.
	holdHash string
}

func (b *battery) run(ctx context.Context) error {
	if err := b.infoChecks(ctx); err != nil {
		return err
	}
	if b.info == nil || b.scheme == "" {
		return nil
	}
	for _, step := range []func(context.Context) error{b.encryptionChecks, b.methodChecks, b.unknownMethodCheck, b.spendChecks, b.expirationCheck} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	b.s.drain()
	b.responseChecks()
	return nil
}

// outcome is what a check function returns.
type outcome struct {
	st     Status
	reason string
}

func pass(format string, args ...any) outcome { return outcome{Pass, fmt.Sprintf(format, args...)} }
func fail(format string, args ...any) outcome { return outcome{Fail, fmt.Sprintf(format, args...)} }
func warn(format string, args ...any) outcome { return outcome{Warn, fmt.Sprintf(format, args...)} }
func skip(format string, args ...any) outcome { return outcome{Skip, fmt.Sprintf(format, args...)} }

// check runs fn and records its outcome. A silent wallet turns into a skip; a transport
// error is recorded as a skip and returned, which ends the run.
func (b *battery) check(id, title string, fn func() (outcome, error)) error {
	out, err := fn()
	switch {
	case errors.Is(err, errSilent):
		b.rep.add(id, title, Skip, "the wallet has not answered any request so far")
		return nil
	case err != nil:
		b.rep.add(id, title, Skip, "not run: %v", err)
		return err
	}
	b.rep.add(id, title, out.st, "%s", out.reason)
	return nil
}

// answer returns the first readable answer of x, or the outcome for its absence.
func (b *battery) answer(x *exchange) (*nip47.Response, *outcome) {
	resp, why := x.first()
	if resp != nil {
		return resp, nil
	}
	if why == "no answer" {
		o := fail("no answer within %s", b.o.Timeout)
		return nil, &o
	}
	o := fail("%s", why)
	return nil, &o
}

// success returns the result of x decoded into v, or the outcome for a failure.
func (b *battery) success(x *exchange, v any) *outcome {
	resp, bad := b.answer(x)
	if bad != nil {
		return bad
	}
	if resp.Error != nil {
		o := fail("answered %s: %s", resp.Error.Code, resp.Error.Message)
		return &o
	}
	if err := decodeResult(resp, v); err != nil {
		o := fail("%v", err)
		return &o
	}
	return nil
}

// judgeError is for requests that must fail: a code in ok passes (any code when ok is
// empty), another code gets other, a success or no answer fails.
func (b *battery) judgeError(x *exchange, other Status, ok ...nip47.ErrorCode) outcome {
	resp, bad := b.answer(x)
	if bad != nil {
		return *bad
	}
	if resp.Error == nil {
		return fail("succeeded; an error was expected")
	}
	code := resp.Error.Code
	if len(ok) == 0 || slices.Contains(ok, code) {
		return pass("%s: %s", code, resp.Error.Message)
	}
	want := make([]string, len(ok))
	for i, c := range ok {
		want[i] = string(c)
	}
	return outcome{other, fmt.Sprintf("%s (%s), expected %s", code, resp.Error.Message, strings.Join(want, " or "))}
}

// callFor sends m and decodes a success into v. A non-nil outcome is the check's verdict
// on a bad or error answer; err is a transport failure (the check could not run).
func (b *battery) callFor(ctx context.Context, m nip47.Method, params, v any) (*outcome, error) {
	x, err := b.call(ctx, m, params)
	if err != nil {
		return nil, err
	}
	return b.success(x, v), nil
}

// or is the outcome, or the zero one for none (a failed call's outcome is not used).
func (o *outcome) or() outcome {
	if o == nil {
		return outcome{}
	}
	return *o
}

func (b *battery) call(ctx context.Context, m nip47.Method, params any) (*exchange, error) {
	return b.s.call(ctx, m, params, callOpts{scheme: b.scheme})
}

// wantError is a check that sends m with params and wants an error answer, judged as
// judgeError does with other and ok.
func (b *battery) wantError(m nip47.Method, params any, other Status, ok ...nip47.ErrorCode) func(ctx context.Context) (outcome, error) {
	return func(ctx context.Context) (outcome, error) {
		x, err := b.call(ctx, m, params)
		if err != nil {
			return outcome{}, err
		}
		return b.judgeError(x, other, ok...), nil
	}
}

func randomHex(n int) string {
	buf := make([]byte, n)
	rand.Read(buf)
	return hex.EncodeToString(buf)
}

func sha256Hex(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ---- info event -------------------------------------------------------------------

func (b *battery) infoChecks(ctx context.Context) error {
	ev, err := b.s.fetchInfo(ctx)
	if err != nil {
		b.rep.add("info.event", "info event (13194)", Skip, "not run: %v", err)
		return err
	}
	if ev == nil {
		b.rep.add("info.event", "info event (13194)", Fail, "no kind 13194 event by the wallet key on the URI's relays")
		return nil
	}
	info, err := nip47.ParseInfo(ev)
	if err != nil {
		b.rep.add("info.event", "info event (13194)", Fail, "does not parse: %v", err)
		return nil
	}
	b.info = info
	for _, m := range info.Methods {
		b.rep.Methods = append(b.rep.Methods, string(m))
	}
	for _, e := range info.Encryptions {
		b.rep.Encryptions = append(b.rep.Encryptions, string(e))
	}
	b.rep.add("info.event", "info event (13194)", Pass, "signed by the wallet key, created %s", time.Unix(ev.CreatedAt, 0).UTC().Format(time.RFC3339))
	for _, c := range []struct {
		id, title string
		out       outcome
	}{
		{"info.capabilities", "info: capabilities (content)", capabilities(ev.Content)},
		{"info.encryption", "info: encryption tag", encryptionTag(ev)},
		{"info.notifications", "info: notifications tag", notificationsTag(ev, info)},
	} {
		b.rep.add(c.id, c.title, c.out.st, "%s", c.out.reason)
	}

	b.scheme, err = nip47.ChooseEncryption(info)
	if err != nil {
		b.scheme = ""
		b.rep.add("encryption.choose", "encryption: a scheme in common", Fail, "the wallet offers none of nip44_v2, nip04: %v", info.Encryptions)
		return nil
	}
	switch {
	case info.Supports(nip47.MethodGetInfo):
		b.probe = nip47.MethodGetInfo
	case info.Supports(nip47.MethodGetBalance):
		b.probe = nip47.MethodGetBalance
	default:
		b.probe = unknownMethod // any request gets an answer, if only NOT_IMPLEMENTED
	}
	return nil
}

func capabilities(content string) outcome {
	words := nip47.ParseCapabilities(content)
	if len(words) == 0 {
		return fail("no capabilities listed")
	}
	var unknown, dup []string
	seen := map[string]bool{}
	for _, w := range words {
		if seen[w] {
			dup = append(dup, w)
		}
		seen[w] = true
		if w != nip47.CapabilityNotifications && !nip47.Method(w).Known() {
			unknown = append(unknown, w)
		}
	}
	switch {
	case strings.Contains(content, ","):
		return warn("separated by commas (old Alby); NIP-47 separates them by spaces")
	case len(unknown) > 0:
		return warn("unknown capabilities: %s", strings.Join(unknown, " "))
	case len(dup) > 0:
		return warn("listed twice: %s", strings.Join(dup, " "))
	}
	return pass("%s", strings.Join(words, " "))
}

func encryptionTag(ev *nostr.Event) outcome {
	t := ev.Tags.Find("encryption")
	if t == nil {
		return warn("no encryption tag: the wallet speaks NIP-04 only (deprecated; NIP-44 is the scheme to use)")
	}
	var known, other []string
	for _, e := range nip47.ParseCapabilities(t[1]) {
		if nip47.Encryption(e).Supported() {
			known = append(known, e)
		} else {
			other = append(other, e)
		}
	}
	switch {
	case len(known) == 0:
		return fail("%q names no scheme a client knows (nip44_v2, nip04)", t[1])
	case !slices.Contains(known, string(nip47.EncryptionNIP44)):
		return warn("%q: NIP-04 only (deprecated)", t[1])
	case len(other) > 0:
		return pass("%q (unknown to clients: %s)", t[1], strings.Join(other, " "))
	}
	return pass("%q", t[1])
}

func notificationsTag(ev *nostr.Event, info *nip47.Info) outcome {
	t := ev.Tags.Find("notifications")
	known := []string{nip47.NotificationPaymentReceived, nip47.NotificationPaymentSent, nip47.NotificationHoldInvoiceAccepted}
	var unknown []string
	for _, n := range info.NotificationTypes {
		if !slices.Contains(known, n) {
			unknown = append(unknown, n)
		}
	}
	switch {
	case !info.Notifications && (t == nil || len(info.NotificationTypes) == 0):
		return skip("the wallet does not advertise notifications")
	case !info.Notifications:
		return warn("tag lists %q but the content lacks the \"notifications\" capability", t[1])
	case t == nil || len(info.NotificationTypes) == 0:
		return warn("\"notifications\" capability without a notifications tag naming the types (SHOULD)")
	case len(unknown) > 0:
		return warn("unknown types: %s", strings.Join(unknown, " "))
	}
	return pass("%q", t[1])
}

// ---- encryption -------------------------------------------------------------------

func (b *battery) encryptionChecks(ctx context.Context) error {
	schemeCheck := func(id, title string, scheme nip47.Encryption, untagged bool) error {
		if !b.info.SupportsEncryption(scheme) {
			b.rep.add(id, title, Skip, "%s not advertised", scheme)
			return nil
		}
		return b.check(id, title, func() (outcome, error) {
			x, err := b.s.call(ctx, b.probe, nil, callOpts{scheme: scheme, untagged: untagged})
			if err != nil {
				return outcome{}, err
			}
			resp, bad := b.answer(x)
			if bad != nil {
				return *bad, nil
			}
			a := x.answers[0]
			if a.scheme != scheme {
				return fail("a %s request was answered in %s", scheme, a.scheme), nil
			}
			what := "ok"
			if resp.Error != nil {
				what = string(resp.Error.Code)
			}
			return pass("%s answered (%s), in %s", b.probe, what, scheme), nil
		})
	}
	if err := schemeCheck("encryption.nip44", "encryption: NIP-44 request", nip47.EncryptionNIP44, false); err != nil {
		return err
	}
	if err := schemeCheck("encryption.nip04", "encryption: NIP-04 request", nip47.EncryptionNIP04, false); err != nil {
		return err
	}
	if err := schemeCheck("encryption.nip04_untagged", "encryption: NIP-04 without encryption tag (legacy clients)", nip47.EncryptionNIP04, true); err != nil {
		return err
	}
	return b.check("encryption.unsupported", "encryption: unknown scheme -> UNSUPPORTED_ENCRYPTION", func() (outcome, error) {
		x, err := b.s.call(ctx, b.probe, nil, callOpts{scheme: b.scheme, tag: "nip99"})
		if err != nil {
			return outcome{}, err
		}
		x.probe = true
		return b.judgeError(x, Fail, nip47.CodeUnsupportedEncryption), nil
	})
}

// ---- methods ------------------------------------------------------------------------

// methodCheck is one check of one method.
type methodCheck struct {
	id, title string
	run       func(ctx context.Context) (outcome, error)
}

func (b *battery) methodChecks(ctx context.Context) error {
	table := []struct {
		method nip47.Method
		checks []methodCheck
	}{
		{nip47.MethodGetInfo, b.getInfoChecks()},
		{nip47.MethodGetBalance, b.getBalanceChecks()},
		{nip47.MethodGetBudget, b.getBudgetChecks()},
		{nip47.MethodMakeInvoice, b.makeInvoiceChecks()},
		{nip47.MethodLookupInvoice, b.lookupInvoiceChecks()},
		{nip47.MethodListTransactions, b.listTransactionsChecks()},
		{nip47.MethodPayInvoice, b.payInvoiceChecks()},
		{nip47.MethodPayKeysend, b.payKeysendChecks()},
		{nip47.MethodMultiPayInvoice, b.multiPayChecks(nip47.MethodMultiPayInvoice)},
		{nip47.MethodMultiPayKeysend, b.multiPayChecks(nip47.MethodMultiPayKeysend)},
		{nip47.MethodMakeHoldInvoice, b.makeHoldChecks()},
		{nip47.MethodCancelHoldInvoice, b.cancelHoldChecks()},
		{nip47.MethodSettleHoldInvoice, b.settleHoldChecks()},
		{nip47.MethodSignMessage, b.signMessageChecks()},
		{nip47.MethodCreateConnection, b.createConnectionChecks()},
	}
	covered := map[nip47.Method]bool{}
	for _, m := range table {
		covered[m.method] = true
		if !b.info.Supports(m.method) {
			b.rep.add(string(m.method), string(m.method), Skip, "not advertised")
			continue
		}
		for _, c := range m.checks {
			if err := b.check(c.id, c.title, func() (outcome, error) { return c.run(ctx) }); err != nil {
				return err
			}
		}
	}
	for _, m := range b.info.Methods {
		if !covered[m] {
			b.rep.add(string(m), string(m), Skip, "advertised, but not a method nwc check knows")
		}
	}
	return nil
}

func (b *battery) getInfoChecks() []methodCheck {
	return []methodCheck{{"get_info", "get_info", func(ctx context.Context) (outcome, error) {
		var r nip47.GetInfoResult
		if bad, err := b.callFor(ctx, nip47.MethodGetInfo, nil, &r); bad != nil || err != nil {
			return bad.or(), err
		}
		if len(r.Methods) == 0 {
			return warn("methods is empty (it lists what this connection may call)"), nil
		}
		switch r.Network {
		case "", "mainnet", "testnet", "signet", "regtest":
		default:
			return warn("network %q is not mainnet, testnet, signet or regtest", r.Network), nil
		}
		note := ""
		if extra, missing := diff(r.Methods, b.info.Methods); len(extra)+len(missing) > 0 {
			note = fmt.Sprintf("; differs from the info event (allowed, §10.25): +%v -%v", extra, missing)
		}
		return pass("%d methods, network %q%s", len(r.Methods), r.Network, note), nil
	}}}
}

// diff returns what a has and b lacks, and the reverse.
func diff(a, b []nip47.Method) (extra, missing []nip47.Method) {
	for _, m := range a {
		if !slices.Contains(b, m) {
			extra = append(extra, m)
		}
	}
	for _, m := range b {
		if !slices.Contains(a, m) {
			missing = append(missing, m)
		}
	}
	return extra, missing
}

func (b *battery) getBalanceChecks() []methodCheck {
	return []methodCheck{{"get_balance", "get_balance", func(ctx context.Context) (outcome, error) {
		var r struct {
			Balance *int64 `json:"balance"`
		}
		if bad, err := b.callFor(ctx, nip47.MethodGetBalance, nil, &r); bad != nil || err != nil {
			return bad.or(), err
		}
		switch {
		case r.Balance == nil:
			return fail("result has no balance"), nil
		case *r.Balance < 0:
			return fail("balance %d is negative", *r.Balance), nil
		}
		return pass("%d msat", *r.Balance), nil
	}}}
}

func (b *battery) getBudgetChecks() []methodCheck {
	return []methodCheck{{"get_budget", "get_budget", func(ctx context.Context) (outcome, error) {
		var r nip47.GetBudgetResult
		if bad, err := b.callFor(ctx, nip47.MethodGetBudget, nil, &r); bad != nil || err != nil {
			return bad.or(), err
		}
		if !r.HasBudget() {
			return pass("{} (no budget)"), nil
		}
		if !r.RenewalPeriod.Valid() {
			return warn("renewal_period %q is not daily, weekly, monthly, yearly or never", r.RenewalPeriod), nil
		}
		return pass("used %d of %d msat, %s", r.UsedBudget, r.TotalBudget, r.RenewalPeriod), nil
	}}}
}

// checkTransaction lists what is wrong with a transaction object given what was asked
// (amount 0 and hash "" are not compared); its invoice, if any, must agree with it.
func checkTransaction(tx *nip47.Transaction, typ nip47.TransactionType, amount int64, hash string) []string {
	var bad []string
	if tx.Type != typ {
		bad = append(bad, fmt.Sprintf("type %q, want %q", tx.Type, typ))
	}
	if len(tx.PaymentHash) != 64 || !nostr.IsHex32(strings.ToLower(tx.PaymentHash)) {
		bad = append(bad, fmt.Sprintf("payment_hash %q is not 32 bytes of hex", tx.PaymentHash))
	} else if hash != "" && !strings.EqualFold(tx.PaymentHash, hash) {
		bad = append(bad, fmt.Sprintf("payment_hash %s, want %s", tx.PaymentHash, hash))
	}
	if amount > 0 && tx.Amount != amount {
		bad = append(bad, fmt.Sprintf("amount %d msat, want %d", tx.Amount, amount))
	}
	if tx.Invoice != "" {
		inv, err := bolt11.Decode(tx.Invoice)
		switch {
		case err != nil:
			bad = append(bad, fmt.Sprintf("invoice is not valid BOLT-11: %v", err))
		case !strings.EqualFold(hex.EncodeToString(inv.PaymentHash[:]), tx.PaymentHash):
			bad = append(bad, "the invoice's payment hash differs from payment_hash")
		case amount > 0 && inv.Amount != 0 && inv.Amount != amount:
			bad = append(bad, fmt.Sprintf("the invoice is for %d msat, want %d", inv.Amount, amount))
		}
	}
	if tx.CreatedAt <= 0 {
		bad = append(bad, "created_at is missing")
	}
	return bad
}

func (b *battery) makeInvoiceChecks() []methodCheck {
	return []methodCheck{
		{"make_invoice", "make_invoice (1 sat)", func(ctx context.Context) (outcome, error) {
			var tx nip47.Transaction
			if bad, err := b.callFor(ctx, nip47.MethodMakeInvoice, map[string]any{"amount": invoiceAmount, "description": "nwc check"}, &tx); bad != nil || err != nil {
				return bad.or(), err
			}
			if tx.Invoice == "" {
				return fail("no invoice in the result"), nil
			}
			if bad := checkTransaction(&tx, nip47.TransactionIncoming, invoiceAmount, ""); len(bad) > 0 {
				return fail("%s", strings.Join(bad, "; ")), nil
			}
			b.invoice = &tx
			if tx.State != "" && tx.State != nip47.StatePending {
				return warn("state %q, want pending", tx.State), nil
			}
			return pass("invoice %s…, hash %s…", head(tx.Invoice, 24), head(tx.PaymentHash, 12)), nil
		}},
		{"make_invoice.amount_zero", "make_invoice: amount 0 -> error", b.wantError(nip47.MethodMakeInvoice, map[string]any{"amount": 0}, Pass)},
		{"make_invoice.no_amount", "make_invoice: no amount -> error", b.wantError(nip47.MethodMakeInvoice, map[string]any{"description": "nwc check"}, Pass)},
	}
}

func head(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (b *battery) lookupInvoiceChecks() []methodCheck {
	lookup := func(ctx context.Context, params map[string]any) (outcome, error) {
		if b.invoice == nil {
			return skip("needs the invoice of make_invoice"), nil
		}
		var tx nip47.Transaction
		if bad, err := b.callFor(ctx, nip47.MethodLookupInvoice, params, &tx); bad != nil || err != nil {
			return bad.or(), err
		}
		if bad := checkTransaction(&tx, nip47.TransactionIncoming, invoiceAmount, b.invoice.PaymentHash); len(bad) > 0 {
			return fail("%s", strings.Join(bad, "; ")), nil
		}
		return pass("found, state %q", tx.State), nil
	}
	return []methodCheck{
		{"lookup_invoice.payment_hash", "lookup_invoice by payment_hash", func(ctx context.Context) (outcome, error) {
			if b.invoice == nil {
				return lookup(ctx, nil)
			}
			return lookup(ctx, map[string]any{"payment_hash": b.invoice.PaymentHash})
		}},
		{"lookup_invoice.invoice", "lookup_invoice by invoice", func(ctx context.Context) (outcome, error) {
			if b.invoice == nil {
				return lookup(ctx, nil)
			}
			return lookup(ctx, map[string]any{"invoice": b.invoice.Invoice})
		}},
		{"lookup_invoice.unknown_hash", "lookup_invoice: unknown hash -> NOT_FOUND", b.wantError(nip47.MethodLookupInvoice, map[string]any{"payment_hash": randomHex(32)}, Fail, nip47.CodeNotFound)},
	}
}

func (b *battery) listTransactionsChecks() []methodCheck {
	list := func(ctx context.Context, params map[string]any) (*nip47.ListTransactionsResult, *outcome, error) {
		x, err := b.call(ctx, nip47.MethodListTransactions, params)
		if err != nil {
			return nil, nil, err
		}
		var r struct {
			Transactions *[]nip47.Transaction `json:"transactions"`
		}
		if bad := b.success(x, &r); bad != nil {
			return nil, bad, nil
		}
		if r.Transactions == nil {
			o := fail("result has no transactions array")
			return nil, &o, nil
		}
		return &nip47.ListTransactionsResult{Transactions: *r.Transactions}, nil, nil
	}
	shape := func(txs []nip47.Transaction) []string {
		var bad []string
		for i := range txs {
			tx := &txs[i]
			if tx.Type != nip47.TransactionIncoming && tx.Type != nip47.TransactionOutgoing {
				bad = append(bad, fmt.Sprintf("#%d: type %q", i, tx.Type))
			}
			if tx.PaymentHash == "" {
				bad = append(bad, fmt.Sprintf("#%d: no payment_hash", i))
			}
		}
		return bad
	}
	return []methodCheck{
		{"list_transactions", "list_transactions (limit 10)", func(ctx context.Context) (outcome, error) {
			r, bad, err := list(ctx, map[string]any{"limit": 10})
			if err != nil || bad != nil {
				return deref(bad), err
			}
			if len(r.Transactions) > 10 {
				return fail("%d transactions for limit 10", len(r.Transactions)), nil
			}
			if s := shape(r.Transactions); len(s) > 0 {
				return fail("%s", strings.Join(s, "; ")), nil
			}
			if !slices.IsSortedFunc(r.Transactions, func(x, y nip47.Transaction) int { return cmp.Compare(y.CreatedAt, x.CreatedAt) }) {
				return warn("%d transactions, not newest first by created_at (Alby Hub orders by settle time, §10.12)", len(r.Transactions)), nil
			}
			return pass("%d transactions, newest first", len(r.Transactions)), nil
		}},
		{"list_transactions.limit", "list_transactions: limit 1", func(ctx context.Context) (outcome, error) {
			r, bad, err := list(ctx, map[string]any{"limit": 1})
			if err != nil || bad != nil {
				return deref(bad), err
			}
			if len(r.Transactions) > 1 {
				return fail("%d transactions for limit 1", len(r.Transactions)), nil
			}
			return pass("%d of at most 1", len(r.Transactions)), nil
		}},
		{"list_transactions.unpaid", "list_transactions: unpaid includes the new invoice", func(ctx context.Context) (outcome, error) {
			if b.invoice == nil {
				return skip("needs the invoice of make_invoice"), nil
			}
			r, bad, err := list(ctx, map[string]any{"unpaid": true, "type": "incoming", "limit": 20})
			if err != nil || bad != nil {
				return deref(bad), err
			}
			for _, tx := range r.Transactions {
				if strings.EqualFold(tx.PaymentHash, b.invoice.PaymentHash) {
					return pass("found among %d", len(r.Transactions)), nil
				}
				if tx.Type != nip47.TransactionIncoming {
					return fail("type=incoming returned a %q transaction", tx.Type), nil
				}
			}
			return warn("the unpaid invoice made a moment ago is not among the %d newest incoming transactions", len(r.Transactions)), nil
		}},
	}
}

func deref(o *outcome) outcome {
	if o == nil {
		return outcome{}
	}
	return *o
}

// badPayment are the codes that fit a payment request that cannot be carried out: the
// spec's PAYMENT_FAILED, Alby Hub's BAD_REQUEST, and OTHER.
var badPayment = []nip47.ErrorCode{nip47.CodeBadRequest, nip47.CodeOther, nip47.CodePaymentFailed}

func (b *battery) payInvoiceChecks() []methodCheck {
	return []methodCheck{
		{"pay_invoice.garbage", "pay_invoice: garbage invoice -> error", b.wantError(nip47.MethodPayInvoice, map[string]any{"invoice": "lnbc1nwccheckgarbage"}, Warn, badPayment...)},
		{"pay_invoice.no_invoice", "pay_invoice: no invoice -> error", b.wantError(nip47.MethodPayInvoice, map[string]any{}, Pass)},
	}
}

func (b *battery) payKeysendChecks() []methodCheck {
	return []methodCheck{
		{"pay_keysend.bad_pubkey", "pay_keysend: bad pubkey -> error", b.wantError(nip47.MethodPayKeysend, map[string]any{"amount": invoiceAmount, "pubkey": "nwccheck"}, Warn, badPayment...)},
		{"pay_keysend", "pay_keysend (a payment)", func(context.Context) (outcome, error) {
			return skip("not sent: a keysend needs another node to pay"), nil
		}},
	}
}

func (b *battery) multiPayChecks(m nip47.Method) []methodCheck {
	return []methodCheck{{string(m) + ".invalid", string(m) + ": bad element -> error with d tag", func(ctx context.Context) (outcome, error) {
		params := map[string]any{"invoices": []map[string]any{{"id": "nwc-check-1", "invoice": "lnbc1nwccheckgarbage"}}}
		if m == nip47.MethodMultiPayKeysend {
			params = map[string]any{"keysends": []map[string]any{{"id": "nwc-check-1", "pubkey": "nwccheck", "amount": invoiceAmount}}}
		}
		x, err := b.call(ctx, m, params)
		if err != nil {
			return outcome{}, err
		}
		out := b.judgeError(x, Warn, badPayment...)
		if out.st == Fail {
			return out, nil
		}
		if d, ok := nip47.ItemID(x.answers[0].ev); !ok || d != "nwc-check-1" {
			return fail("the answer has d tag %q, want the element id \"nwc-check-1\" (%s)", d, out.reason), nil
		}
		return out, nil
	}}}
}

func (b *battery) makeHoldChecks() []methodCheck {
	return []methodCheck{
		{"make_hold_invoice", "make_hold_invoice (1 sat)", func(ctx context.Context) (outcome, error) {
			hash := sha256Hex(randomHex(32))
			var tx nip47.Transaction
			if bad, err := b.callFor(ctx, nip47.MethodMakeHoldInvoice, map[string]any{"amount": invoiceAmount, "payment_hash": hash, "description": "nwc check hold"}, &tx); bad != nil || err != nil {
				return bad.or(), err
			}
			if tx.Invoice == "" {
				return fail("no invoice in the result"), nil
			}
			if bad := checkTransaction(&tx, nip47.TransactionIncoming, invoiceAmount, hash); len(bad) > 0 {
				return fail("%s", strings.Join(bad, "; ")), nil
			}
			b.holdHash = hash
			return pass("invoice for the app's payment hash"), nil
		}},
		{"make_hold_invoice.no_hash", "make_hold_invoice: no payment_hash -> error", b.wantError(nip47.MethodMakeHoldInvoice, map[string]any{"amount": invoiceAmount}, Pass)},
	}
}

func (b *battery) cancelHoldChecks() []methodCheck {
	return []methodCheck{
		{"cancel_hold_invoice", "cancel_hold_invoice (the hold invoice made)", func(ctx context.Context) (outcome, error) {
			if b.holdHash == "" {
				return skip("needs the hold invoice of make_hold_invoice"), nil
			}
			var r map[string]any
			if bad, err := b.callFor(ctx, nip47.MethodCancelHoldInvoice, map[string]any{"payment_hash": b.holdHash}, &r); bad != nil || err != nil {
				return bad.or(), err
			}
			return pass("canceled"), nil
		}},
		{"cancel_hold_invoice.unknown", "cancel_hold_invoice: unknown hash -> error", b.wantError(nip47.MethodCancelHoldInvoice, map[string]any{"payment_hash": randomHex(32)}, Pass)},
	}
}

func (b *battery) settleHoldChecks() []methodCheck {
	return []methodCheck{
		{"settle_hold_invoice.unknown", "settle_hold_invoice: unknown preimage -> error", b.wantError(nip47.MethodSettleHoldInvoice, map[string]any{"preimage": randomHex(32)}, Pass)},
		{"settle_hold_invoice", "settle_hold_invoice (a payment)", func(context.Context) (outcome, error) {
			return skip("not run: settling needs a payer to lock the hold invoice in"), nil
		}},
	}
}

func (b *battery) signMessageChecks() []methodCheck {
	return []methodCheck{{"sign_message", "sign_message", func(ctx context.Context) (outcome, error) {
		msg := "nwc check " + randomHex(4)
		var r nip47.SignMessageResult
		if bad, err := b.callFor(ctx, nip47.MethodSignMessage, map[string]any{"message": msg}, &r); bad != nil || err != nil {
			return bad.or(), err
		}
		switch {
		case r.Message != msg:
			return fail("message %q, want the one sent %q", r.Message, msg), nil
		case r.Signature == "":
			return fail("no signature"), nil
		}
		return pass("signature %s…", head(r.Signature, 16)), nil
	}}}
}

func (b *battery) createConnectionChecks() []methodCheck {
	return []methodCheck{
		{"create_connection.no_methods", "create_connection: no request_methods -> error", func(ctx context.Context) (outcome, error) {
			pk := nostr.GenerateSecretKey().Public()
			x, err := b.call(ctx, nip47.MethodCreateConnection, map[string]any{"pubkey": pk.String(), "name": "nwc check", "request_methods": []string{}})
			if err != nil {
				return outcome{}, err
			}
			out := b.judgeError(x, Pass)
			if out.st == Fail && strings.HasPrefix(out.reason, "succeeded") {
				out.reason = "succeeded: a connection without methods may have been created for a throw-away key"
			}
			return out, nil
		}},
		{"create_connection", "create_connection (valid)", func(context.Context) (outcome, error) {
			return skip("not run: it would leave a connection behind"), nil
		}},
	}
}

// ---- unknown method ---------------------------------------------------------------

func (b *battery) unknownMethodCheck(ctx context.Context) error {
	return b.check("unknown_method", "unknown method -> NOT_IMPLEMENTED", func() (outcome, error) {
		x, err := b.call(ctx, unknownMethod, nil)
		if err != nil {
			return outcome{}, err
		}
		return b.judgeError(x, Fail, nip47.CodeNotImplemented), nil
	})
}
