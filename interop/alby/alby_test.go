// Package alby_test checks nwc against NWC software nobody here wrote, installed from npm
// with exact versions (package.json + package-lock.json in this folder):
//
//   - @getalby/sdk's NWCClient runs every method it has against `nwc serve` (sandbox);
//   - our Go client (client/) runs every method against @getalby/sdk's NWCWalletService;
//   - nostr-tools sends NIP-04 requests without an encryption tag to `nwc serve`.
//
// What each covers is in docs/interop.md. The tests are skipped unless NWC_INTEROP_NODE=1
// (set by .ci/run after `npm ci` here); they need node (20+) on PATH.
package alby_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/nip47"
)

// nwcBin is the nwc binary built by TestMain when the interop tests are enabled.
var nwcBin string

func TestMain(m *testing.M) {
	if os.Getenv("NWC_INTEROP_NODE") != "1" {
		os.Exit(m.Run())
	}
	if nwcBin = os.Getenv("NWC_INTEROP_NWC_BIN"); nwcBin != "" { // an nwc binary built already
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "nwc-interop-alby-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nwcBin = filepath.Join(dir, "nwc")
	build := exec.Command("go", "build", "-o", nwcBin, "github.com/nwc-go/nwc/cmd/nwc")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build nwc:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireNode skips unless the interop tests are enabled, and fails if npm ci was not run.
func requireNode(t *testing.T) {
	t.Helper()
	if os.Getenv("NWC_INTEROP_NODE") != "1" {
		t.Skip("NWC_INTEROP_NODE=1 not set (needs node and `npm ci` in interop/alby)")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "@getalby", "sdk", "package.json")); err != nil {
		t.Fatalf("node_modules missing: run `npm ci --no-audit --no-fund` in interop/alby (%v)", err)
	}
}

// logTail keeps the last lines a child process wrote, to show them when a test fails.
type logTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTail) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) == 300 {
		l.lines = l.lines[1:]
	}
	l.lines = append(l.lines, s)
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// process is a child process whose stderr is scanned line by line.
type process struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	log    logTail
	exited chan struct{}
	read   chan struct{} // closed when stderr is drained
}

// start starts cmd, hands every JSON log line on stderr to onLine (until it returns
// true) and registers a cleanup that stops the process (SIGINT, or stdin EOF for node
// scripts) and waits for it.
func start(t *testing.T, name string, cmd *exec.Cmd, onLine func(map[string]any) bool) *process {
	t.Helper()
	p := &process{name: name, cmd: cmd, exited: make(chan struct{}), read: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		defer close(p.read)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		done := onLine == nil
		for sc.Scan() {
			p.log.add(sc.Text())
			if done {
				continue
			}
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && onLine(m) {
				done = true
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-p.read // Wait must not run before the pipe is drained
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s stderr (tail):\n%s", name, p.log.String())
		}
	})
	return p
}

func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.stdin.Close()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// serve is a running `nwc serve` with the sandbox backend in its own data dir.
type serve struct {
	dir string
}

func startServe(t *testing.T) *serve {
	t.Helper()
	s := &serve{dir: t.TempDir()}
	ready := make(chan struct{})
	cmd := exec.Command(nwcBin, "serve", "--data-dir", s.dir,
		"--relay-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--rate", "-1", // the scripts fire requests back to back
		"--no-first-connection", "--log-json")
	p := start(t, "nwc serve", cmd, func(m map[string]any) bool {
		if m["msg"] == "wallet service ready" {
			close(ready)
			return true
		}
		return false
	})
	select {
	case <-ready:
	case <-p.exited:
		t.Fatalf("nwc serve exited:\n%s", p.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("nwc serve not ready after 30s:\n%s", p.log.String())
	}
	return s
}

// run runs an nwc subcommand against the data dir and returns its stdout.
func (s *serve) run(t *testing.T, args ...string) []byte {
	t.Helper()
	args = append(args, "--data-dir", s.dir) // every arg is a flag after the subcommand
	cmd := exec.Command(nwcBin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nwc %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

type conn struct {
	ID  int64
	URI string
}

// connect creates a connection with `nwc connect new --json`.
func (s *serve) connect(t *testing.T, name string, flags ...string) conn {
	t.Helper()
	out := s.run(t, append([]string{"connect", "new", "--name", name, "--json"}, flags...)...)
	var r struct {
		Connection struct {
			ID int64 `json:"id"`
		} `json:"connection"`
		URI string `json:"uri"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.URI == "" || r.Connection.ID == 0 {
		t.Fatalf("nwc connect new: %v: %s", err, out)
	}
	return conn{ID: r.Connection.ID, URI: r.URI}
}

// report is what every node script prints on stdout.
type report struct {
	Peer   string                     `json:"peer"`
	Node   string                     `json:"node"`
	OK     bool                       `json:"ok"`
	Checks []reportCheck              `json:"checks"`
	Values map[string]json.RawMessage `json:"values"`
}

type reportCheck struct {
	Name   string          `json:"name"`
	OK     bool            `json:"ok"`
	MS     int64           `json:"ms"`
	Detail json.RawMessage `json:"detail"`
	Error  string          `json:"error"`
}

// runScript runs a node script of this folder with env and returns its report.
func runScript(t *testing.T, script string, env ...string) *report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r report
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); jerr != nil {
		t.Fatalf("node %s: %v; no report (%v)\nstdout:\n%s\nstderr:\n%s", script, err, jerr, stdout.String(), stderr.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node %s stderr:\n%s", script, stderr.String())
		}
	})
	if (err == nil) != r.OK {
		t.Errorf("node %s: exit %v but report ok=%v", script, err, r.OK)
	}
	return &r
}

// checkReport fails the test for every failed check and every expected check missing.
func checkReport(t *testing.T, r *report, want []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range r.Checks {
		seen[c.Name] = true
		if !c.OK {
			t.Errorf("%s: %s: %s", r.Peer, c.Name, c.Error)
		}
	}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("%s: check %q missing from the report", r.Peer, name)
		}
	}
	if len(r.Checks) != len(want) {
		t.Errorf("%s: %d checks, want %d", r.Peer, len(r.Checks), len(want))
	}
	t.Logf("%s on node %s: %d checks", r.Peer, r.Node, len(r.Checks))
}

// The checks alby_client.mjs must report (all passing).
var albyClientChecks = []string{
	"info event (13194): encryption, capabilities, notifications",
	"encryption negotiated: nip44_v2",
	"get_info",
	"get_info (restricted connection: methods are the connection's)",
	"get_balance",
	"get_budget (100000sat/daily)",
	"get_budget (no budget: {})",
	"make_invoice",
	"pay_invoice (invoice of another connection)",
	"notification payment_received (nip44, kind 23197)",
	"lookup_invoice (payment_hash)",
	"lookup_invoice (invoice)",
	"pay_invoice (main pays the payer's invoice)",
	"notification payment_sent",
	"list_transactions",
	"list_transactions (type=outgoing, limit=1)",
	"pay_keysend",
	"multi_pay_invoice",
	"multi_pay_keysend",
	"sign_message",
	"make_hold_invoice + hold_invoice_accepted + settle_hold_invoice",
	"make_hold_invoice + cancel_hold_invoice (payer gets PAYMENT_FAILED)",
	"error NOT_FOUND (lookup_invoice of an unknown hash)",
	"error RESTRICTED (pay_invoice without the scope)",
	"error RESTRICTED (make_invoice without the scope)",
	"error QUOTA_EXCEEDED (budget 10 sat, invoice 1000 sat)",
	"get_balance (isolated, after faucet 5000 sat)",
	"error INSUFFICIENT_BALANCE (isolated, invoice 10000 sat)",
	"error INSUFFICIENT_BALANCE (multi_pay_invoice element, isolated)",
	"isolated: make_invoice, paid by another connection, lookup_invoice, balance",
	"create_connection (not granted: RESTRICTED)",
	"NIP-04: get_balance + make_invoice with encryption forced to nip04",
}

// TestAlbyClientAgainstServe: @getalby/sdk's NWCClient, every method, against nwc serve.
func TestAlbyClientAgainstServe(t *testing.T) {
	requireNode(t)
	s := startServe(t)
	main := s.connect(t, "main", "--notifications", "--budget", "100000sat/daily",
		"--methods", "pay_invoice,make_invoice,lookup_invoice,list_transactions,get_balance,get_info,sign_message")
	payer := s.connect(t, "payer", "--notifications")
	restricted := s.connect(t, "restricted", "--methods", "get_info,get_balance")
	budget := s.connect(t, "budget", "--methods", "pay_invoice,get_info", "--budget", "10sat/daily")
	isolated := s.connect(t, "isolated", "--isolated")
	s.run(t, "faucet", "--connection", strconv.FormatInt(isolated.ID, 10), "--amount", "5000sat")

	r := runScript(t, "alby_client.mjs",
		"NWC_URI_MAIN="+main.URI, "NWC_URI_PAYER="+payer.URI, "NWC_URI_RESTRICTED="+restricted.URI,
		"NWC_URI_BUDGET="+budget.URI, "NWC_URI_ISOLATED="+isolated.URI)
	checkReport(t, r, albyClientChecks)

	// The sign_message signature, as the JS client received it, must recover the node key
	// get_info reported.
	var signed nip47.SignMessageResult
	var nodeKey string
	if err := json.Unmarshal(r.Values["sign_message"], &signed); err != nil {
		t.Fatalf("sign_message value: %v", err)
	}
	if err := json.Unmarshal(r.Values["node_pubkey"], &nodeKey); err != nil {
		t.Fatalf("node_pubkey value: %v", err)
	}
	got, err := lightning.VerifyMessage(signed.Message, signed.Signature)
	if err != nil || got != nodeKey {
		t.Errorf("sign_message signature recovers %q (%v), want the node key %q", got, err, nodeKey)
	}
}

// TestNostrToolsNIP04AgainstServe: untagged NIP-04 requests as nostr-tools builds them.
func TestNostrToolsNIP04AgainstServe(t *testing.T) {
	requireNode(t)
	s := startServe(t)
	payer := s.connect(t, "nostr-tools", "--notifications")
	payee := s.connect(t, "payee")
	r := runScript(t, "nostr_tools.mjs", "NWC_URI="+payer.URI, "NWC_URI_PAYEE="+payee.URI)
	checkReport(t, r, []string{
		"info event: advertises nip04",
		"get_balance (NIP-04, no encryption tag)",
		"make_invoice (NIP-04, payee connection)",
		"pay_invoice via nip47.makeNwcRequestEvent",
		"notification payment_sent (kind 23196, NIP-04)",
		"error NOT_FOUND answered in NIP-04 (lookup_invoice)",
		"error NOT_IMPLEMENTED answered in NIP-04 (unknown method)",
	})
}

// startRelay runs `nwc relay` on a free port and returns its URL.
func startRelay(t *testing.T) string {
	t.Helper()
	urls := make(chan string, 1)
	p := start(t, "nwc relay", exec.Command(nwcBin, "relay", "--listen", "127.0.0.1:0", "--log-json"), func(m map[string]any) bool {
		if u, ok := m["url"].(string); ok && m["msg"] == "relay listening" {
			urls <- u
			return true
		}
		return false
	})
	select {
	case u := <-urls:
		return u
	case <-p.exited:
		t.Fatalf("nwc relay exited:\n%s", p.log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("nwc relay not listening after 30s:\n%s", p.log.String())
	}
	return ""
}

// startAlbyService runs alby_wallet_service.mjs on relayURL and returns the connection
// URI it prints once its subscription is live and its info event stored.
func startAlbyService(t *testing.T, relayURL string) string {
	t.Helper()
	cmd := exec.Command("node", "alby_wallet_service.mjs")
	cmd.Env = append(os.Environ(), "RELAY_URL="+relayURL)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, "alby_wallet_service.mjs", cmd, nil)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		var r struct{ URI string }
		if !ok || json.Unmarshal([]byte(line), &r) != nil || r.URI == "" {
			p.stop()
			t.Fatalf("alby_wallet_service.mjs printed %q, want {\"uri\":...}:\n%s", line, p.log.String())
		}
		return r.URI
	case <-time.After(30 * time.Second):
		t.Fatalf("alby_wallet_service.mjs: no URI after 30s:\n%s", p.log.String())
	}
	return ""
}

// Fixed data of alby_wallet_service.mjs.
var (
	jsNode     = "02" + strings.Repeat("11", 32)
	jsPreimage = strings.Repeat("22", 32)
	jsHash     = strings.Repeat("33", 32)
	jsInvoice  = "lnbcrt10n1fixedinvoice"
)

func i64(v int64) *int64 { return &v }

// TestGoClientAgainstAlbyWalletService: our client, every method, against @getalby/sdk's
// NWCWalletService (with a JS handler that answers with fixed data and checks our params).
func TestGoClientAgainstAlbyWalletService(t *testing.T) {
	requireNode(t)
	uri := startAlbyService(t, startRelay(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, uri, client.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if c.Encryption() != nip47.EncryptionNIP44 {
		t.Errorf("Encryption() = %q, want nip44_v2 (the service advertises \"nip04 nip44_v2\")", c.Encryption())
	}
	info := c.Info()
	if !slices.Contains(info.Encryptions, nip47.EncryptionNIP04) || !info.Supports(nip47.MethodSignMessage) || info.Supports(nip47.MethodGetBudget) {
		t.Errorf("Info() = %+v", info)
	}

	// Subscribe before the call that makes the JS service publish a notification.
	notes, err := c.Notifications(ctx)
	if err != nil {
		t.Fatalf("Notifications: %v", err)
	}

	wantTx := nip47.Transaction{
		Type: "incoming", State: "settled", Invoice: jsInvoice, Description: "fixed",
		Preimage: jsPreimage, PaymentHash: jsHash, Amount: 1000, CreatedAt: 1700000000,
		ExpiresAt: i64(1700003600), SettledAt: i64(1700000010), Metadata: json.RawMessage(`{"comment":"hi"}`),
	}
	walletErr := func(err error, target error, code nip47.ErrorCode, msg string) error {
		var we *nip47.Error
		if !errors.Is(err, target) || !errors.As(err, &we) || we.Code != code || (msg != "" && we.Message != msg) {
			return fmt.Errorf("err = %v, want a *nip47.Error %s %q matching %v", err, code, msg, target)
		}
		return nil
	}
	notImplemented := func(err error) error {
		return walletErr(err, nip47.ErrNotImplemented, nip47.CodeNotImplemented, "")
	}

	tests := []struct {
		name string
		run  func() error
	}{
		{"get_info", func() error {
			r, err := c.GetInfo(ctx)
			if err != nil {
				return err
			}
			if r.Alias != "alby-js" || r.Color != "#ff9900" || r.Pubkey != jsNode || r.Network != "regtest" ||
				r.BlockHeight != 123 || r.BlockHash != strings.Repeat("44", 32) || len(r.Methods) != 8 ||
				!slices.Equal(r.Notifications, []string{"payment_received"}) {
				return fmt.Errorf("got %+v", r)
			}
			return nil
		}},
		{"get_balance", func() error {
			r, err := c.GetBalance(ctx)
			if err == nil && r.Balance != 123456789 {
				err = fmt.Errorf("balance %d", r.Balance)
			}
			return err
		}},
		{"make_invoice", func() error {
			r, err := c.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 21000, Description: "coffee", Expiry: 600})
			if err != nil {
				return err
			}
			want := wantTx
			want.State, want.Amount, want.Description, want.Preimage, want.SettledAt = "pending", 21000, "coffee", "", nil
			return diffTx(r, &want)
		}},
		{"pay_invoice (amount, metadata)", func() error {
			r, err := c.PayInvoice(ctx, "lnbcrt-ok", client.WithAmount(5000), client.WithMetadata(json.RawMessage(`{"comment":"thanks"}`)))
			if err == nil && (r.Preimage != jsPreimage || r.FeesPaid != 7) {
				err = fmt.Errorf("got %+v", r)
			}
			return err
		}},
		{"pay_invoice error INSUFFICIENT_BALANCE", func() error {
			_, err := c.PayInvoice(ctx, "lnbcrt-insufficient")
			return walletErr(err, nip47.ErrInsufficientBalance, nip47.CodeInsufficientBalance, "not enough sats")
		}},
		{"pay_invoice error with an unknown code", func() error {
			_, err := c.PayInvoice(ctx, "lnbcrt-weird")
			return walletErr(err, nip47.ErrOther, "WEIRD_CODE", "a code nobody knows")
		}},
		{"pay_keysend (preimage, u64 TLV type)", func() error {
			r, err := c.PayKeysend(ctx, nip47.PayKeysendParams{Amount: 1000, Pubkey: jsNode, Preimage: jsPreimage,
				TLVRecords: []nip47.TLVRecord{{Type: 5482373484, Value: "0102ff"}}})
			if err == nil && (r.Preimage != jsPreimage || r.FeesPaid != 3) {
				err = fmt.Errorf("got %+v", r)
			}
			return err
		}},
		{"lookup_invoice (payment_hash)", func() error {
			r, err := c.LookupInvoiceByHash(ctx, jsHash)
			if err != nil {
				return err
			}
			return diffTx(r, &wantTx)
		}},
		{"lookup_invoice (invoice)", func() error {
			r, err := c.LookupInvoiceByInvoice(ctx, jsInvoice)
			if err != nil {
				return err
			}
			return diffTx(r, &wantTx)
		}},
		{"lookup_invoice error NOT_FOUND", func() error {
			_, err := c.LookupInvoiceByHash(ctx, strings.Repeat("00", 32))
			return walletErr(err, nip47.ErrNotFound, nip47.CodeNotFound, "invoice not found")
		}},
		{"list_transactions (every param)", func() error {
			r, err := c.ListTransactions(ctx, nip47.ListTransactionsParams{From: 1600000000, Until: 1800000000,
				Limit: 2, Offset: 1, Unpaid: true, Type: "outgoing"})
			if err != nil {
				return err
			}
			if len(r.Transactions) != 2 || r.TotalCount != 5 {
				return fmt.Errorf("got %d transactions, total_count %d", len(r.Transactions), r.TotalCount)
			}
			first := wantTx
			first.Type, first.FeesPaid = "outgoing", 1000
			second := wantTx
			second.Type, second.State, second.Preimage, second.SettledAt, second.PaymentHash = "outgoing", "pending", "", nil, strings.Repeat("66", 32)
			return errors.Join(diffTx(&r.Transactions[0], &first), diffTx(&r.Transactions[1], &second))
		}},
		{"sign_message", func() error {
			r, err := c.SignMessage(ctx, "hello alby")
			if err == nil && (r.Message != "hello alby" || r.Signature != "d"+strings.Repeat("y", 103)) {
				err = fmt.Errorf("got %+v", r)
			}
			return err
		}},
		{"notification payment_received (published by nostr-tools, kind 23197)", func() error {
			if _, err := c.PayInvoice(ctx, "lnbcrt-notify"); err != nil {
				return err
			}
			select {
			case n := <-notes:
				if n.NotificationType != nip47.NotificationPaymentReceived || n.Notification.PaymentHash != strings.Repeat("55", 32) ||
					n.Notification.Amount != 4242 || n.Notification.Type != "incoming" {
					return fmt.Errorf("got %+v", n)
				}
				return nil
			case <-time.After(10 * time.Second):
				return errors.New("no notification within 10s")
			}
		}},
		// Methods the JS service has no handler for: it answers NOT_IMPLEMENTED.
		{"get_budget: NOT_IMPLEMENTED", func() error { _, err := c.GetBudget(ctx); return notImplemented(err) }},
		{"make_hold_invoice: NOT_IMPLEMENTED", func() error {
			_, err := c.MakeHoldInvoice(ctx, nip47.MakeHoldInvoiceParams{Amount: 1000, PaymentHash: jsHash})
			return notImplemented(err)
		}},
		{"settle_hold_invoice: NOT_IMPLEMENTED", func() error { return notImplemented(c.SettleHoldInvoice(ctx, jsPreimage)) }},
		{"cancel_hold_invoice: NOT_IMPLEMENTED", func() error { return notImplemented(c.CancelHoldInvoice(ctx, jsHash)) }},
		{"multi_pay_invoice: NOT_IMPLEMENTED (one answer without d tag)", func() error {
			r, err := c.MultiPayInvoice(ctx, []nip47.MultiPayInvoiceItem{{ID: "a", Invoice: "lnbcrt-ok"}, {ID: "b", Invoice: "lnbcrt-ok"}})
			if e := notImplemented(err); e != nil {
				return e
			}
			if r == nil || len(r.Errors) != 2 || len(r.Results) != 0 {
				return fmt.Errorf("result %+v, want both elements in Errors", r)
			}
			return nil
		}},
		{"multi_pay_keysend: NOT_IMPLEMENTED", func() error {
			_, err := c.MultiPayKeysend(ctx, []nip47.MultiPayKeysendItem{{ID: "k", Amount: 1000, Pubkey: jsNode}})
			return notImplemented(err)
		}},
		{"unknown method via Call: NOT_IMPLEMENTED", func() error {
			return notImplemented(c.Call(ctx, "no_such_method", nil, nil))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err != nil {
				t.Error(err)
			}
		})
	}

	// NIP-04, with and without the encryption tag (the JS service reads a missing tag as nip04).
	for _, tc := range []struct {
		name string
		opts []client.Option
	}{
		{"nip04 tagged", []client.Option{client.WithEncryption(nip47.EncryptionNIP04)}},
		{"nip04 untagged", []client.Option{client.WithEncryption(nip47.EncryptionNIP04), client.WithoutEncryptionTag()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := client.Dial(ctx, uri, append(tc.opts, client.WithTimeout(10*time.Second))...)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if b, err := c.GetBalance(ctx); err != nil || b.Balance != 123456789 {
				t.Errorf("GetBalance = %+v, %v", b, err)
			}
			_, err = c.PayInvoice(ctx, "lnbcrt-insufficient")
			if e := walletErr(err, nip47.ErrInsufficientBalance, nip47.CodeInsufficientBalance, "not enough sats"); e != nil {
				t.Error(e)
			}
		})
	}
}

// diffTx compares the fields the JS handler sets.
func diffTx(got, want *nip47.Transaction) error {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		return fmt.Errorf("transaction\n got %s\nwant %s", g, w)
	}
	return nil
}
