package alby_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/check"
	"github.com/nwc-go/nwc/internal/server/servertest"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// runNWCCheck runs `nwc check --json URI flags...` and returns its report and exit code.
// The report is logged as a Markdown table (docs/interop.md, "nwc check", shows them).
func runNWCCheck(t *testing.T, uri string, flags ...string) (*check.Report, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nwcBin, append([]string{"check", "--json", uri}, flags...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("nwc check: %v\n%s", err, stderr.String())
	}
	var rep check.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("nwc check (exit %d): no JSON report: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout.String(), stderr.String())
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	t.Logf("nwc check, exit %d, %d requests, %s:\n%s", code, rep.Requests, rep.Duration, md.String())
	return &rep, code
}

// TestNWCCheckAgainstServe: `nwc check --spend-max 10` against `nwc serve` (sandbox):
// nothing fails or warns, and it exits 0.
func TestNWCCheckAgainstServe(t *testing.T) {
	requireNode(t)
	s := startServe(t)
	c := s.connect(t, "nwc check", "--notifications",
		"--methods", "pay_invoice,make_invoice,lookup_invoice,list_transactions,get_balance,get_info,sign_message")
	waitInfo(t, c.URI)
	rep, code := runNWCCheck(t, c.URI, "--spend-max", "10")
	for _, r := range rep.Results {
		if r.Status == check.Fail || r.Status == check.Warn {
			t.Errorf("%s: %s: %s", r.Title, r.Status, r.Reason)
		}
	}
	if code != 0 || rep.SpentMSat != 1000 {
		t.Errorf("exit %d, spent %d msat", code, rep.SpentMSat)
	}
	if r, _ := rep.Result("notification.payment_received"); r.Status != check.Pass {
		t.Errorf("notifications not checked: %+v", r)
	}
}

// What `nwc check` finds in @getalby/sdk 8.0.3's NWCWalletService, beyond passes and skips
// (see docs/interop.md, "nwc check").
var albyServiceFindings = map[string]check.Status{
	// The SDK reads any encryption tag other than "nip04" as NIP-44 and answers normally.
	"encryption.unsupported": check.Fail,
}

// TestNWCCheckAgainstAlbyWalletService: `nwc check --spend-max 10` against a wallet
// behind @getalby/sdk's NWCWalletService (alby_check_wallet.mjs).
func TestNWCCheckAgainstAlbyWalletService(t *testing.T) {
	requireNode(t)
	uri := startScriptService(t, "alby_check_wallet.mjs", startRelay(t))
	rep, code := runNWCCheck(t, uri, "--spend-max", "10")
	for _, r := range rep.Results {
		want, known := albyServiceFindings[r.ID]
		switch {
		case known && r.Status != want:
			t.Errorf("%s: %s (%s), want %s: update albyServiceFindings and docs/interop.md", r.ID, r.Status, r.Reason, want)
		case !known && (r.Status == check.Fail || r.Status == check.Warn):
			t.Errorf("%s: %s: %s", r.ID, r.Status, r.Reason)
		}
	}
	for _, id := range []string{"make_invoice", "lookup_invoice.payment_hash", "pay_invoice.self", "notification.payment_sent", "responses.e_tag", "responses.p_tag"} {
		if r, _ := rep.Result(id); r.Status != check.Pass {
			t.Errorf("%s: %+v, want pass", id, r)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 (a check fails)", code)
	}
}

// waitInfo waits until the info event of the URI's wallet is on its relays: `nwc serve`
// picks up a connection made by `nwc connect new` within a second and announces it then.
func waitInfo(t *testing.T, uri string) {
	t.Helper()
	u, err := nip47.ParseConnectionURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	pool := relaypool.New(relaypool.Options{})
	defer pool.Close()
	for _, r := range u.Relays {
		pool.AddRelay(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	servertest.WaitInfo(ctx, t, pool, u.WalletPubKey)
}

// startScriptService runs a node script that serves a wallet on relayURL and returns the
// connection URI it prints ({"uri": ...}) once it listens.
func startScriptService(t *testing.T, script, relayURL string) string {
	t.Helper()
	cmd := exec.Command("node", script)
	cmd.Env = append(os.Environ(), "RELAY_URL="+relayURL)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, script, cmd, nil)
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
			t.Fatalf("%s printed %q, want {\"uri\":...}:\n%s", script, line, p.log.String())
		}
		return r.URI
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no URI after 30s:\n%s", script, p.log.String())
	}
	return ""
}
