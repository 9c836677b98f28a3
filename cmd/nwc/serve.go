package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/internal/wallet"
)

func init() {
	commands["serve"] = command{summary: "run the wallet service (sandbox backend, embedded relay, SQLite by default)", run: runServe}
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir, db := dataDirFlag(fs), dbFlag(fs)
	relayListen := fs.String("relay-listen", server.DefaultRelayListen, `address of the embedded relay ("off" to run without it)`)
	adminListen := fs.String("admin-listen", server.DefaultAdminListen, `address of the admin API ("off" to disable); loopback only unless --admin-allow-remote`)
	adminRemote := fs.Bool("admin-allow-remote", false, "allow a non-loopback --admin-listen (the token is always required)")
	var relays stringList
	fs.Var(&relays, "relay", "another relay to use and to put in new URIs (repeatable)")
	backend := fs.String("backend", "sandbox", "Lightning backend: sandbox or lnd")
	lndOpts := addLNDFlags(fs)
	balance := fs.String("sandbox-balance", "1000000sat", "starting balance of a new sandbox node")
	external := fs.String("sandbox-external", "succeed", "outcome of sandbox payments to other nodes' invoices: succeed, fail or hang")
	resolve := fs.String("sandbox-resolve-pending", "", "at start, resolve sandbox payments left hanging by a previous run: succeed or fail")
	sbShared := fs.Bool("sandbox-shared", false, "let several nwc serve processes use this data dir's sandbox ledger at once (several instances on PostgreSQL sharing one sandbox node); otherwise the ledger is locked to one process")
	maxAge := fs.Duration("max-request-age", 6*time.Hour, "drop spend and invoice requests older than this")
	retention := fs.Duration("request-log-retention", service.DefaultRequestLogRetention, "keep request-log rows this long (at least 24h and longer than --max-request-age; negative = forever)")
	payTimeout := fs.Duration("payment-timeout", 60*time.Second, "how long a payment may take before the app is told it is still pending")
	rate := fs.Float64("rate", 20, "requests per second allowed per connection (burst twice that; negative = no limit)")
	announceAll := fs.Bool("announce-all", false, "publish every connection's info event at start, even those the relays were given before (after a relay lost its data)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	noFirst := fs.Bool("no-first-connection", false, "do not create a first connection when there is none")
	pprofAddr := fs.String("pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nwc serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *backend != "sandbox" && *backend != "lnd" {
		fmt.Fprintf(stderr, "nwc serve: unknown backend %q (sandbox or lnd)\n", *backend)
		return 2
	}
	startBalance, err := wallet.ParseAmount(*balance)
	if err != nil {
		fmt.Fprintf(stderr, "nwc serve: bad --sandbox-balance: %v\n", err)
		return 2
	}
	logger, err := newLogger(stderr, *logLevel, *logJSON)
	if err != nil {
		fmt.Fprintln(stderr, "nwc serve:", err)
		return 2
	}
	var node lightning.Backend // nil = the sandbox
	if *backend == "lnd" {
		b, err := lndOpts.open(ctx, logger, *payTimeout)
		if err != nil {
			fmt.Fprintln(stderr, "nwc serve:", err)
			return 2
		}
		defer b.Close()
		node = b
	}
	burst := int(2 * *rate)
	srv, err := server.Open(ctx, server.Options{
		Backend: node,
		DataDir: *dir, DB: *db, RelayListen: *relayListen, Relays: relays, SandboxBalance: int64(startBalance),
		AdminListen: *adminListen, AdminAllowRemote: *adminRemote,
		SandboxExternal: *external, SandboxResolvePending: *resolve, SandboxShared: *sbShared, Logger: logger,
		Service: service.Config{MaxRequestAge: *maxAge, RequestLogRetention: *retention, PaymentTimeout: *payTimeout, RatePerSecond: *rate, RateBurst: burst, AnnounceAll: *announceAll},
	})
	if err != nil {
		fmt.Fprintln(stderr, "nwc serve:", err)
		return 1
	}
	defer srv.Close()
	if *pprofAddr != "" {
		_, stopPprof, err := servePprof(*pprofAddr)
		if err != nil {
			fmt.Fprintln(stderr, "nwc serve:", err)
			return 2
		}
		defer stopPprof()
	}
	logger.Info("wallet service ready", "data_dir", *dir, "relays", strings.Join(srv.RelayURLs, " "), "backend", *backend, "admin", srv.AdminURL())

	list, err := srv.Store.ListConnections(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "nwc serve:", err)
		return 1
	}
	if len(list) == 0 && !*noFirst {
		c, uri, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{
			Name: "first connection", Methods: server.DefaultMethods + ",get_budget,sign_message", Notifications: true,
		})
		if err != nil {
			fmt.Fprintln(stderr, "nwc serve: create the first connection:", err)
			return 1
		}
		printConnectionURI(stdout, c, uri)
	} else {
		fmt.Fprintf(stdout, "Serving %d connection(s). Create one for an app with: nwc connect new --name APP\n", len(list))
	}
	printAdminFirstRun(stdout, srv, *dir)
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "nwc serve:", err)
		return 1
	}
	logger.Info("stopped")
	return 0
}

func newLogger(w io.Writer, level string, asJSON bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
