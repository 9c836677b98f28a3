package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nwc-go/nwc/internal/admin"
	"github.com/nwc-go/nwc/internal/nwa"
	"github.com/nwc-go/nwc/internal/server"
)

const approveUsage = `Usage: nwc connect approve [--yes] [--json] [--offline] 'nostr+walletauth://...'

Shows what the app asks for, asks for confirmation (unless --yes), then creates a connection
for the app's own key and publishes its info event to the app's relays. With a running
'nwc serve' the approval goes through its admin API, so the service listens on the app's
relays before the app hears of the connection; without one (or with --offline) the
connection is created in the data dir and the service answers once it runs. See docs/nwa.md.`

// errDeclined: the user did not confirm.
var errDeclined = errors.New("not approved")

func connectApprove(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc connect approve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, approveUsage); fs.PrintDefaults() }
	dir, db := dataDirFlag(fs), dbFlag(fs)
	yes := fs.Bool("yes", false, "approve without asking")
	asJSON := fs.Bool("json", false, "print JSON")
	offline := fs.Bool("offline", false, "do not use a running 'nwc serve'; write the data dir directly")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the app's relays")
	// The URI may come before the flags too.
	var raw string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		raw, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if raw == "" && fs.NArg() == 1 {
		raw = fs.Arg(0)
	} else if fs.NArg() != 0 || raw == "" {
		fs.Usage()
		return 2
	}
	req, err := nwa.Parse(raw, time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "nwc connect approve:", err)
		return 1
	}
	if !*asJSON || !*yes {
		describeRequest(stdout, req)
	}
	if !*yes {
		if !confirm(stdin, stdout, "Approve this connection? [y/N] ") {
			fmt.Fprintln(stderr, "nwc connect approve:", errDeclined)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var out admin.ApprovalView
	if *offline {
		out, err = approveOffline(ctx, *dir, *db, req)
	} else {
		out, err = approveViaServer(ctx, *dir, *db, raw)
		if errors.Is(err, errNoServer) {
			out, err = approveOffline(ctx, *dir, *db, req)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "nwc connect approve:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, out)
	}
	printApproval(stdout, out)
	if !out.Published {
		return 1
	}
	return 0
}

// describeRequest is the confirmation screen of the command line.
func describeRequest(w io.Writer, r *nwa.Request) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("App", r.Name)
	if r.Icon != "" {
		row("Icon", r.Icon)
	}
	row("App key", r.URI.ClientPubKey)
	row("Relays", strings.Join(r.URI.Relays, " "))
	row("May call", strings.Join(r.Methods, ", "))
	if len(r.NotificationTypes) > 0 {
		row("Notifications", strings.Join(r.NotificationTypes, ", "))
	} else {
		row("Notifications", "none")
	}
	row("Budget", budgetText(r.Budget))
	row("Expires", timeText(r.ExpiresAt))
	if r.Isolated {
		row("Isolated", "yes: its own sub-wallet, starting at 0")
	} else {
		row("Isolated", "no: it uses the wallet's balance")
	}
	if r.ReturnTo != "" {
		row("Then go to", r.ReturnTo)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintln(w, "Note:", n)
	}
}

// confirm asks a yes/no question; anything but y or yes (or no input) is no.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// errNoServer: no 'nwc serve' answers on the recorded admin address.
var errNoServer = errors.New("no running nwc serve")

// approveViaServer hands the approval to the running service's admin API.
func approveViaServer(ctx context.Context, dir, db, raw string) (admin.ApprovalView, error) {
	var out admin.ApprovalView
	st, _, _, err := openWallet(ctx, dir, db)
	if err != nil {
		return out, err
	}
	addr, err := st.GetSetting(ctx, server.SettingAdminAddr)
	st.Close()
	if err != nil {
		return out, errNoServer
	}
	token, err := os.ReadFile(filepath.Join(dir, server.AdminTokenFile))
	if err != nil {
		return out, errNoServer
	}
	body, _ := json.Marshal(map[string]string{"uri": raw})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/api/nwa/approve", bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return out, errNoServer
	}
	if err != nil {
		return out, fmt.Errorf("admin API at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return out, fmt.Errorf("the service refused: %s (HTTP %d)", e.Error, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, fmt.Errorf("admin API answer: %w", err)
	}
	return out, nil
}

// approveOffline creates the connection in the data dir and publishes its info event with a
// relay pool of its own. The service adds the app's relays when it (re)reads connections.
func approveOffline(ctx context.Context, dir, db string, req *nwa.Request) (admin.ApprovalView, error) {
	st, keys, _, err := openWallet(ctx, dir, db)
	if err != nil {
		return admin.ApprovalView{}, err
	}
	defer st.Close()
	c, err := nwa.Create(ctx, st, keys, req, time.Now())
	if err != nil {
		return admin.ApprovalView{}, err
	}
	ev, err := nwa.InfoEvent(keys, c, time.Now())
	if err != nil {
		return admin.ApprovalView{}, err
	}
	a := &nwa.Approval{Connection: c, Relays: req.URI.Relays, Offline: true}
	results, err := nwa.Publish(ctx, req.URI.Relays, ev, nil)
	a.Results = nwa.OnRelays(results, req.URI.Relays)
	if err != nil && !errors.Is(err, nwa.ErrNotPublished) {
		return admin.ApprovalView{}, err
	}
	if a.Published() {
		a.ReturnURL = nwa.ReturnURL(req.ReturnTo, req.URI.Relays, c.ServicePubKey, "")
	}
	return admin.ApprovalJSON(a, &admin.ConnectionView{
		ID: c.ID, Name: c.Name, Status: "active", ClientPubKey: c.ClientPubKey.String(), ServicePubKey: c.ServicePubKey.String(),
		Methods: c.Methods(), Notifications: c.Notifications(), Isolated: c.Isolated, BudgetMSat: int64(c.Budget.Limit),
		BudgetRenewal: string(c.Budget.Renewal), CreatedAt: c.CreatedAt.Unix(), AppRelays: req.URI.Relays,
	}), nil
}

func printApproval(w io.Writer, a admin.ApprovalView) {
	fmt.Fprintf(w, "\nApproved: connection %d (%s) for app key %s.\n", a.Connection.ID, a.Connection.Name, a.Connection.ClientPubKey)
	fmt.Fprintf(w, "Wallet service key: %s\n", a.WalletPubKey)
	fmt.Fprintln(w, "Info event (kind 13194, p = the app's key) on the app's relays:")
	for _, r := range a.Results {
		fmt.Fprintf(w, "  %-13s %s %s\n", r.Status, r.URL, r.Message)
	}
	if !a.Published {
		fmt.Fprintln(w, "No relay of the app took the info event: the app cannot find the connection yet.")
		fmt.Fprintln(w, "'nwc serve' announces it to the app's relays again when it starts.")
	}
	if a.Offline {
		fmt.Fprintln(w, "'nwc serve' is not running: the app's requests are answered once it runs (it listens on the app's relays too).")
	}
	if a.ReturnURL != "" {
		fmt.Fprintf(w, "Back to the app: %s\n", a.ReturnURL)
	}
}
