package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/store"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["connect"] = command{summary: "manage app connections: new, list, show, revoke, approve", run: runConnect}
}

const connectUsage = `Usage:
  nwc connect new --name NAME [--methods m1,m2] [--budget 50000sat/monthly] [--expires 30d]
                  [--isolated] [--notifications] [--relay URL] [--json]
  nwc connect list [--json]
  nwc connect show ID [--json]
  nwc connect revoke ID
  nwc connect approve [--yes] [--json] 'nostr+walletauth://...'   (an app asks to connect: NWA)

Connections are stored in the data dir (--data-dir, env NWC_DATA_DIR), or in the
PostgreSQL database of --db (env NWC_DB). A running 'nwc serve' picks up new and revoked
connections within a second.`

func runConnect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, connectUsage)
		return 2
	}
	switch args[0] {
	case "new":
		return connectNew(ctx, args[1:], stdout, stderr)
	case "list":
		return connectList(ctx, args[1:], stdout, stderr)
	case "show":
		return connectShow(ctx, args[1:], stdout, stderr)
	case "revoke":
		return connectRevoke(ctx, args[1:], stdout, stderr)
	case "approve":
		return connectApprove(ctx, args[1:], os.Stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "nwc connect: unknown verb %q\n\n%s\n", args[0], connectUsage)
	return 2
}

// defaultMethods is what a new connection may do unless --methods says otherwise.
const defaultMethods = server.DefaultMethods

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, strings.Split(s, ",")...); return nil }

func connectNew(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc connect new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir, db := dataDirFlag(fs), dbFlag(fs)
	var o server.ConnectionOptions
	fs.StringVar(&o.Name, "name", "", "name of the app (required)")
	fs.StringVar(&o.Methods, "methods", defaultMethods, "methods the app may call (comma separated); pay_invoice covers pay_keysend and multi_*, make_invoice covers hold invoices")
	fs.StringVar(&o.Budget, "budget", "", "spending budget, e.g. 50000sat/monthly (daily, weekly, monthly, yearly, never)")
	fs.StringVar(&o.Expires, "expires", "", "expiry: a duration like 30d or 12h, or an RFC 3339 time (default never)")
	fs.BoolVar(&o.Isolated, "isolated", false, "give the app its own sub-wallet: it spends only what it received")
	fs.BoolVar(&o.Notifications, "notifications", false, "send payment notifications to the app")
	fs.Var((*stringList)(&o.Relays), "relay", "relay URL to put in the URI (repeatable; default: the relays of the last 'nwc serve')")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	st, keys, _, err := openWallet(ctx, *dir, *db)
	if err != nil {
		fmt.Fprintln(stderr, "nwc connect new:", err)
		return 1
	}
	defer st.Close()
	c, uri, err := server.NewConnection(ctx, st, keys, o)
	if err != nil {
		fmt.Fprintln(stderr, "nwc connect new:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, map[string]any{"connection": connectionJSON(c, nil), "uri": uri.String()})
	}
	printConnectionURI(stdout, c, uri)
	return 0
}

// printConnectionURI shows a new connection's URI and QR code. It is shown once only.
func printConnectionURI(w io.Writer, c *wallet.Connection, uri *nip47.ConnectionURI) {
	fmt.Fprintf(w, "Connection %d (%s) created. Give this URI to the app; it is shown only once:\n\n%s\n\n", c.ID, c.Name, uri)
	if err := writeQR(w, uri.String()); err != nil {
		fmt.Fprintln(w, "(QR code unavailable:", err, ")")
	}
}

func openForRead(ctx context.Context, fs *flag.FlagSet, args []string, stderr io.Writer) (store.Store, bool) {
	dir, db := dataDirFlag(fs), dbFlag(fs)
	if err := fs.Parse(args); err != nil {
		return nil, false
	}
	st, _, _, err := openWallet(ctx, *dir, *db)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return nil, false
	}
	return st, true
}

func connectList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc connect list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	st, ok := openForRead(ctx, fs, args, stderr)
	if !ok {
		return 2
	}
	defer st.Close()
	list, err := st.ListConnections(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "nwc connect list:", err)
		return 1
	}
	if *asJSON {
		out := make([]map[string]any, 0, len(list))
		for i := range list {
			out = append(out, connectionJSON(&list[i], nil))
		}
		return printJSON(stdout, out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tBUDGET\tISOLATED\tLAST USED\tMETHODS")
	now := time.Now()
	for _, c := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\t%s\t%s\n", c.ID, c.Name, c.Status(now), budgetText(c.Budget), c.Isolated, timeText(c.LastUsedAt), strings.Join(c.Methods(), ","))
	}
	tw.Flush()
	return 0
}

func budgetText(b wallet.Budget) string {
	if !b.Enabled() {
		return "none"
	}
	return b.String()
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func parseID(fs *flag.FlagSet, stderr io.Writer) (int64, bool) {
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "%s: want exactly one connection ID\n", fs.Name())
		return 0, false
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(stderr, "%s: bad connection ID %q\n", fs.Name(), fs.Arg(0))
		return 0, false
	}
	return id, true
}

// reorder moves flags after the positional ID in front of it, so `show 3 --json` works.
func reorder(args []string) []string {
	var flags, rest []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
		} else {
			rest = append(rest, a)
		}
	}
	return append(flags, rest...)
}

func connectShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc connect show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	st, ok := openForRead(ctx, fs, reorder(args), stderr)
	if !ok {
		return 2
	}
	defer st.Close()
	id, ok := parseID(fs, stderr)
	if !ok {
		return 2
	}
	c, err := st.ConnectionByID(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "nwc connect show: connection %d: %v\n", id, err)
		return 1
	}
	now := time.Now()
	used, err := st.BudgetUsed(ctx, c.ID, c.Budget.WindowStart(now, time.Local))
	if err != nil {
		fmt.Fprintln(stderr, "nwc connect show:", err)
		return 1
	}
	stats, err := st.RequestStats(ctx, c.ID)
	if err != nil {
		fmt.Fprintln(stderr, "nwc connect show:", err)
		return 1
	}
	extra := map[string]any{"budget_used_msat": int64(used), "requests": stats}
	if c.Budget.Enabled() {
		extra["budget_remaining_msat"] = int64(c.Budget.Remaining(used))
		if c.Budget.Renewal != wallet.RenewalNever {
			extra["budget_renews_at"] = wallet.NextRenewal(c.Budget.Renewal, now, time.Local)
		}
	}
	if c.Isolated {
		bal, err := st.IsolatedBalance(ctx, c.ID)
		if err != nil {
			fmt.Fprintln(stderr, "nwc connect show:", err)
			return 1
		}
		extra["balance_msat"] = int64(bal)
	}
	if *asJSON {
		return printJSON(stdout, connectionJSON(c, extra))
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s:\t%v\n", k, v) }
	row("ID", c.ID)
	row("Name", c.Name)
	row("Status", c.Status(now))
	row("App key", c.ClientPubKey)
	row("Service key", c.ServicePubKey)
	row("Methods", strings.Join(c.Methods(), ", "))
	row("Notifications", strings.Join(c.Notifications(), ", "))
	row("Isolated", c.Isolated)
	if c.Isolated {
		row("Balance", wallet.MSat(extra["balance_msat"].(int64)))
	}
	row("Budget", budgetText(c.Budget))
	if c.Budget.Enabled() {
		row("Budget used", used)
		row("Budget remaining", c.Budget.Remaining(used))
		if t, ok := extra["budget_renews_at"].(time.Time); ok {
			row("Renews at", timeText(t))
		}
	}
	if !c.ExpiresAt.IsZero() {
		row("Expires", timeText(c.ExpiresAt))
	}
	row("Created", timeText(c.CreatedAt))
	row("Last used", timeText(c.LastUsedAt))
	row("Requests", fmt.Sprintf("%d (%d ok, %d failed, %d running)", stats.Total, stats.OK, stats.Failed, stats.Running))
	tw.Flush()
	return 0
}

func connectRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc connect revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	st, ok := openForRead(ctx, fs, reorder(args), stderr)
	if !ok {
		return 2
	}
	defer st.Close()
	id, ok := parseID(fs, stderr)
	if !ok {
		return 2
	}
	if err := st.RevokeConnection(ctx, id, time.Now()); err != nil {
		fmt.Fprintf(stderr, "nwc connect revoke: connection %d: %v\n", id, err)
		return 1
	}
	fmt.Fprintf(stdout, "Connection %d revoked. A running 'nwc serve' stops answering it and deletes its info event.\n", id)
	return 0
}

func connectionJSON(c *wallet.Connection, extra map[string]any) map[string]any {
	m := map[string]any{
		"id": c.ID, "name": c.Name, "client_pubkey": c.ClientPubKey.String(), "service_pubkey": c.ServicePubKey.String(),
		"methods": c.Methods(), "notifications": c.Notifications(), "isolated": c.Isolated,
		"budget_msat": int64(c.Budget.Limit), "budget_renewal": string(c.Budget.Renewal),
		"created_at": c.CreatedAt.Unix(), "status": c.Status(time.Now()),
	}
	if !c.ExpiresAt.IsZero() {
		m["expires_at"] = c.ExpiresAt.Unix()
	}
	if !c.LastUsedAt.IsZero() {
		m["last_used_at"] = c.LastUsedAt.Unix()
	}
	if !c.RevokedAt.IsZero() {
		m["revoked_at"] = c.RevokedAt.Unix()
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}
