package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/bench"
	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/internal/store"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
)

func init() {
	commands["bench"] = command{summary: "load-test a wallet service (any NWC wallet, or sandbox connections of a local one)", run: runBench}
}

// benchConnectionsFile keeps the URIs `nwc bench --connections` made in a data dir, so
// that later runs reuse them instead of adding connections every time. It holds app
// secrets: mode 0600, like the master key beside it.
const benchConnectionsFile = "bench-connections.txt"

const benchUsage = `Usage: nwc bench [flags]

Drives a wallet service with a mix of NIP-47 requests and reports requests/s, latency
quantiles (p50/p90/p99/max) and errors by code. Three ways to choose what to drive:

  nwc bench --uri URI                       any NWC wallet (one app key; --concurrency
                                            requests in flight from it)
  nwc bench --connections N --data-dir DIR  N sandbox connections of the 'nwc serve'
                                            running from DIR (made once, reused later)
  nwc bench --local [--connections N]       an in-process sandbox service on a fresh
                                            data dir (relay on 127.0.0.1, no rate limit)

Closed loop (default): --concurrency requests always in flight. Open loop: --rate R
sends R requests/s whatever the answers, and latency counts from the intended send time.
A service's per-connection rate limit applies: run 'nwc serve --rate -1' to measure it.

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nwc bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	uri := fs.String("uri", "", "connection URI of the wallet to drive (default $"+appEnvURI+" unless --connections or --local)")
	payee := fs.String("payee-uri", "", "connection whose invoices pay_invoice pays (default: the --uri connection itself)")
	conns := fs.Int("connections", 0, "drive N sandbox connections of the local service in --data-dir (made and kept in "+benchConnectionsFile+")")
	dir, db := dataDirFlag(fs), dbFlag(fs)
	local := fs.Bool("local", false, "start an in-process sandbox service (on a temporary data dir unless --data-dir is given)")
	method := fs.String("method", "get_balance", "the method to call, if no --mix")
	mixFlag := fs.String("mix", "", "weighted methods, e.g. get_balance=8,make_invoice=1,pay_invoice=1")
	concurrency := fs.Int("concurrency", 0, "requests in flight (closed loop, default 16), or the most in flight (open loop, default 10000)")
	rate := fs.Float64("rate", 0, "open loop: send this many requests per second (0 = closed loop)")
	duration := fs.Duration("duration", 0, "how long to run (default 10s unless --count)")
	count := fs.Int("count", 0, "how many requests to send")
	warmup := fs.Duration("warmup", 0, "run the same load this long first, unrecorded")
	timeout := fs.Duration("timeout", bench.DefaultTimeout, "how long to wait for each answer")
	encryption := fs.String("encryption", "", "force nip44_v2 or nip04 (default: as the wallet's info event says)")
	amount := fs.String("amount", "1sat", "amount of make_invoice and of the invoices pay_invoice pays")
	invoices := fs.Int("invoices", 0, "invoices to make before the clock starts for pay_invoice (default: as many as the run needs)")
	sockets := fs.Int("sockets", 0, "relay connections to spread the load over (default: as needed)")
	pid := fs.Int("pid", 0, "measure the CPU time of this wallet service process per request, against the unavoidable crypto")
	cryptoSamples := fs.Int("crypto-samples", bench.DefaultCryptoSamples, "iterations of each crypto operation for --pid")
	var connRelays stringList
	fs.Var(&connRelays, "relay", "with --connections: relay to put in new connections (repeatable; default: those the service recorded)")
	ready := fs.Duration("ready-timeout", 30*time.Second, "how long to wait for the wallet's info events of the first and last connections")
	setupOnly := fs.Bool("setup-only", false, "with --connections: make the connections, print how many, and exit")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quiet := fs.Bool("quiet", false, "no progress line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nwc bench: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "nwc bench: "+format+"\n", a...)
		return 2
	}
	mixText := *mixFlag
	if mixText == "" {
		mixText = *method
	}
	mix, err := bench.ParseMix(mixText)
	if err != nil {
		return usage("%v", err)
	}
	amt, err := wallet.ParseAmount(*amount)
	if err != nil || amt <= 0 {
		return usage("bad --amount %q", *amount)
	}
	if *concurrency == 0 && *rate <= 0 {
		*concurrency = 16
	}
	if *duration == 0 && *count == 0 {
		*duration = 10 * time.Second
	}
	dirSet := false
	fs.Visit(func(f *flag.Flag) { dirSet = dirSet || f.Name == "data-dir" })
	if *uri == "" && *conns == 0 && !*local {
		*uri = os.Getenv(appEnvURI)
	}
	if *uri != "" && (*conns > 0 || *local) {
		return usage("give either --uri or --connections/--local")
	}
	if *uri == "" && *conns == 0 && !*local {
		return usage("give --uri URI, --connections N --data-dir DIR, or --local (see -h)")
	}
	cfg := bench.Config{
		Mix: mix, Concurrency: *concurrency, Rate: *rate, Duration: *duration, Count: *count, Warmup: *warmup,
		Timeout: *timeout, Encryption: nip47.Encryption(*encryption), InvoiceAmount: int64(amt),
		Invoices: *invoices, Sockets: *sockets, PID: *pid, CryptoSamples: *cryptoSamples, ReadyTimeout: *ready,
	}
	switch cfg.Encryption {
	case "", nip47.EncryptionNIP44, nip47.EncryptionNIP04:
	default:
		return usage("bad --encryption %q: want nip44_v2 or nip04", *encryption)
	}

	if *uri != "" {
		u, err := nip47.ParseConnectionURI(*uri)
		if err != nil {
			return usage("bad --uri: %v", err)
		}
		cfg.Targets = []*nip47.ConnectionURI{u}
		if *payee != "" {
			p, err := nip47.ParseConnectionURI(*payee)
			if err != nil {
				return usage("bad --payee-uri: %v", err)
			}
			cfg.Payees = []*nip47.ConnectionURI{p}
		}
	} else {
		n := max(*conns, 1)
		if *local {
			d := *dir
			if !dirSet {
				tmp, err := os.MkdirTemp("", "nwc-bench-")
				if err != nil {
					fmt.Fprintln(stderr, "nwc bench:", err)
					return 1
				}
				defer os.RemoveAll(tmp)
				d = tmp
			}
			srv, err := server.Open(ctx, server.Options{
				DataDir: d, DB: *db, RelayListen: "127.0.0.1:0", AdminListen: "off",
				Service: service.Config{RatePerSecond: -1},
			})
			if err != nil {
				fmt.Fprintln(stderr, "nwc bench: start the local service:", err)
				return 1
			}
			defer srv.Close()
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- srv.Run(runCtx) }()
			defer func() { stop(); <-done }()
			if cfg.Targets, err = benchConnections(ctx, srv.Store, srv.Keys, d, n, nil, stderr); err != nil {
				fmt.Fprintln(stderr, "nwc bench:", err)
				return 1
			}
			// Connections kept from an earlier run name the relay port of that run.
			for _, u := range cfg.Targets {
				u.Relays = srv.RelayURLs
			}
			if err := srv.Service.Reload(ctx); err != nil {
				fmt.Fprintln(stderr, "nwc bench: reload the local service:", err)
				return 1
			}
			// Info events kept by the relay from an earlier run are there before the new
			// service subscribes: wait until it answers, or the first requests are lost.
			if err := waitAnswering(ctx, cfg.Targets[0]); err != nil {
				fmt.Fprintln(stderr, "nwc bench: the local service does not answer:", err)
				return 1
			}
		} else {
			st, keys, _, err := openWallet(ctx, *dir, *db)
			if err != nil {
				fmt.Fprintln(stderr, "nwc bench:", err)
				return 1
			}
			cfg.Targets, err = benchConnections(ctx, st, keys, *dir, n, connRelays, stderr)
			st.Close()
			if err != nil {
				fmt.Fprintln(stderr, "nwc bench:", err)
				return 1
			}
			if *setupOnly {
				fmt.Fprintf(stdout, "%d connections in %s\n", len(cfg.Targets), filepath.Join(*dir, benchConnectionsFile))
				return 0
			}
		}
		// Connection i pays the invoices of connection i+1: payments between connections.
		if len(cfg.Targets) > 1 {
			for i := range cfg.Targets {
				cfg.Payees = append(cfg.Payees, cfg.Targets[(i+1)%len(cfg.Targets)])
			}
		}
	}

	if !*quiet {
		cfg.Progress = progressPrinter(stderr)
	}
	rep, err := bench.Run(ctx, cfg)
	if !*quiet && isTerminal(stderr) {
		fmt.Fprintln(stderr)
	}
	if err != nil && rep == nil {
		fmt.Fprintln(stderr, "nwc bench:", err)
		return 1
	}
	if *asJSON {
		printJSON(stdout, rep)
	} else {
		printBenchReport(stdout, rep)
	}
	if rep.OK == 0 {
		return 1
	}
	return 0
}

// benchConnections returns n connection URIs of the wallet in dir: those kept in
// benchConnectionsFile from earlier runs (still active), then new ones.
func benchConnections(ctx context.Context, st store.Store, keys *keyring.Keyring, dir string, n int, relays []string, stderr io.Writer) ([]*nip47.ConnectionURI, error) {
	path := filepath.Join(dir, benchConnectionsFile)
	var uris []*nip47.ConnectionURI
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 4096), 1<<16)
		for sc.Scan() && len(uris) < n {
			u, err := nip47.ParseConnectionURI(strings.TrimSpace(sc.Text()))
			if err != nil {
				continue
			}
			c, err := st.ConnectionByServiceKey(ctx, u.WalletPubKey)
			if err != nil || c.Revoked() || c.ClientPubKey != u.Secret.Public() {
				continue
			}
			uris = append(uris, u)
		}
		f.Close()
	}
	if len(uris) == n {
		return uris, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keep the bench connections: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	for _, u := range uris {
		fmt.Fprintln(w, u.String())
	}
	kept := len(uris)
	for i := kept; i < n; i++ {
		_, u, err := server.NewConnection(ctx, st, keys, server.ConnectionOptions{
			Name: fmt.Sprintf("bench %d", i+1), Methods: server.DefaultMethods + ",get_budget", Relays: relays,
		})
		if err != nil {
			return nil, fmt.Errorf("create bench connection %d: %w", i+1, err)
		}
		uris = append(uris, u)
		fmt.Fprintln(w, u.String())
		if made := i + 1 - kept; made%10_000 == 0 {
			fmt.Fprintf(stderr, "made %d of %d connections\n", made, n-kept)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("keep the bench connections: %w", err)
	}
	return uris, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressPrinter writes one progress line a second: rewritten in place on a terminal,
// one line each otherwise (logs).
func progressPrinter(w io.Writer) func(bench.Progress) {
	prefix, suffix := "", "\n"
	if isTerminal(w) {
		prefix, suffix = "\r\033[K", ""
	}
	return func(p bench.Progress) {
		fmt.Fprintf(w, "%s%5.0fs  sent %d  ok %d  errors %d  %.0f req/s  p50 %s  p99 %s%s",
			prefix, p.Elapsed.Seconds(), p.Sent, p.OK, p.Errors, p.RateNow, fmtMS(p.P50), fmtMS(p.P99), suffix)
	}
}

func fmtMS(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func printBenchReport(w io.Writer, r *bench.Report) {
	fmt.Fprintf(w, "target      %s\n", r.Target)
	mode := fmt.Sprintf("%s, concurrency %d", r.Mode, r.Concurrency)
	if r.TargetRate > 0 {
		mode = fmt.Sprintf("%s at %.0f req/s, at most %d in flight", r.Mode, r.TargetRate, r.Concurrency)
	}
	fmt.Fprintf(w, "mode        %s, %s\n", mode, r.Encryption)
	fmt.Fprintf(w, "requests    %d sent in %.2fs: %d ok, %d errors\n", r.Sent, r.Seconds, r.OK, r.Errors)
	fmt.Fprintf(w, "throughput  %.1f req/s\n", r.Throughput)
	l := r.Latency
	fmt.Fprintf(w, "latency     p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms  (mean %.2fms, %d answered)\n",
		l.P50, l.P90, l.P99, l.Max, l.Mean, l.Count)
	if len(r.ErrorCodes) > 0 {
		codes := make([]string, 0, len(r.ErrorCodes))
		for c := range r.ErrorCodes {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for i, c := range codes {
			codes[i] = fmt.Sprintf("%s %d", c, r.ErrorCodes[c])
		}
		fmt.Fprintf(w, "errors      %s\n", strings.Join(codes, ", "))
	}
	if len(r.Methods) > 1 {
		names := make([]string, 0, len(r.Methods))
		for m := range r.Methods {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, m := range names {
			s := r.Methods[m]
			fmt.Fprintf(w, "  %-18s %d ok, %d errors, p50 %.2fms, p99 %.2fms\n", m, s.OK, s.Errors, s.Latencies.P50, s.Latencies.P99)
		}
	}
	if c := r.CPU; c != nil {
		fmt.Fprintf(w, "cpu         process %d: %.2fs for %d requests = %.1fµs/request\n", c.PID, c.ProcessCPUSeconds, c.Requests, c.PerRequestMicros)
		fmt.Fprintf(w, "crypto      %.1fµs/request (verify %.1f, decrypt %.1f, encrypt %.1f, sign %.1f): ratio %.2f\n",
			c.CryptoMicros, c.CryptoBreakdown.Verify, c.CryptoBreakdown.Decrypt, c.CryptoBreakdown.Encrypt, c.CryptoBreakdown.Sign, c.Ratio)
	}
}

// waitAnswering returns once the wallet of uri answers get_info (20 s at most): new
// connections' info events are published in the background, and a restarted service may
// not listen yet.
func waitAnswering(ctx context.Context, uri *nip47.ConnectionURI) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if answers(ctx, uri) {
			return nil
		}
		select { // a relay that refuses at once must not make this spin
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("no answer to get_info: %w", ctx.Err())
		}
	}
}

// answers reports whether one get_info through a fresh client got an answer (an error
// answer counts: the wallet is listening).
func answers(ctx context.Context, uri *nip47.ConnectionURI) bool {
	c, err := client.Dial(ctx, uri.String(), client.WithTimeout(time.Second))
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.GetInfo(ctx)
	var answered *nip47.Error
	return err == nil || errors.As(err, &answered)
}
