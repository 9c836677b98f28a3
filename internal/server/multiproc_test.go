package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/lightning"
	"github.com/nwc-go/nwc/internal/lightning/sandbox"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/store/postgres"
	"github.com/nwc-go/nwc/internal/store/postgres/pgtest"
	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// cluster is several real `nwc serve` processes on one PostgreSQL database and one data
// dir: they share the master key (same service keys) and the sandbox ledger file (one
// Lightning backend; the sandbox serialises its ledger across processes with SQLite's
// write lock), and talk to the same relays.
type cluster struct {
	t      *testing.T
	bin    string
	dir    string
	db     string
	relays []string
	mu     sync.Mutex
	procs  map[string]*nwcProc
	logs   []string       // every log file, also of killed processes
	active map[string]int // instance name -> index of its current log
}

type nwcProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (c *cluster) args() []string {
	a := []string{"serve", "--data-dir", c.dir, "--db", c.db, "--relay-listen", "off", "--admin-listen", "off",
		"--rate", "-1", "--no-first-connection", "--log-level", "debug", "--log-json", "--payment-timeout", "5s",
		"--sandbox-balance", "10000000sat", "--sandbox-shared"}
	for _, r := range c.relays {
		a = append(a, "--relay", r)
	}
	return a
}

// start runs an instance; name distinguishes its log file (a restart gets a new one).
func (c *cluster) start(name string) {
	c.t.Helper()
	c.spawn(name, c.args(), nil)
}

// startRelay runs `nwc relay` (outside the test process, which may be built with -race)
// on addr and returns its URL. Stored events persist in dir, so a restart replays them.
func (c *cluster) startRelay(name, addr, dir string) string {
	c.t.Helper()
	url := make(chan string, 1)
	c.spawn(name, []string{"relay", "--listen", addr, "--data-dir", dir, "--events-per-second", "-1",
		"--max-limit", "10000", "--log-json"},
		func(l logLine) {
			if l.Msg == "relay listening" {
				url <- l.URL
			}
		})
	select {
	case u := <-url:
		return u
	case <-time.After(15 * time.Second):
		c.t.Fatalf("relay %s did not start", name)
		return ""
	}
}

// spawn runs the nwc binary with args, copying its output to a log file of its own;
// onLine, if set, sees every JSON log line as it comes.
func (c *cluster) spawn(name string, args []string, onLine func(logLine)) {
	c.t.Helper()
	c.mu.Lock()
	logPath := filepath.Join(c.dir, fmt.Sprintf("%s-%d.log", name, len(c.logs)))
	c.mu.Unlock()
	logf, err := os.Create(logPath)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout = logf
	out, err := cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	p := &nwcProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			logf.Write(append(sc.Bytes(), '\n'))
			var l logLine
			if onLine != nil && json.Unmarshal(sc.Bytes(), &l) == nil {
				onLine(l)
			}
		}
		cmd.Wait()
		logf.Close()
	}()
	c.mu.Lock()
	c.procs[name] = p
	c.active[name] = len(c.logs)
	c.logs = append(c.logs, logPath)
	c.mu.Unlock()
	c.t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
}

// signal sends sig to a process and waits for it to be gone.
func (c *cluster) signal(name string, sig syscall.Signal) {
	c.t.Helper()
	c.mu.Lock()
	p := c.procs[name]
	delete(c.active, name)
	c.mu.Unlock()
	if err := p.cmd.Process.Signal(sig); err != nil {
		c.t.Fatal(err)
	}
	<-p.done
}

// logLine is what the tests read from an instance's JSON log.
type logLine struct {
	Msg     string `json:"msg"`
	Event   string `json:"event"`
	Method  string `json:"method"`
	Outcome string `json:"outcome"`
	URL     string `json:"url"`
}

// scanLogs calls fn for every service log line of every instance (file index, line).
func (c *cluster) scanLogs(fn func(file int, l logLine)) {
	c.t.Helper()
	c.mu.Lock()
	logs := append([]string(nil), c.logs...)
	c.mu.Unlock()
	for i, path := range logs {
		f, err := os.Open(path)
		if err != nil {
			c.t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l logLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				fn(i, l)
			}
		}
		f.Close()
	}
}

// waitServing sends get_info from app until every running instance has served one of
// them, i.e. listens to app's key (each request is executed by whichever instance
// records it first, so it takes a few).
func (c *cluster) waitServing(app *rawApp) {
	c.t.Helper()
	ids := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ev := app.request(nip47.MethodGetInfo, nil)
		ids[ev.ID.String()] = true
		app.publish(ev)
		app.collect(200*time.Millisecond, ev.ID)
		served := map[int]bool{}
		c.scanLogs(func(file int, l logLine) {
			if l.Msg == "request" && ids[l.Event] {
				served[file] = true
			}
		})
		c.mu.Lock()
		all := true
		for name, f := range c.active {
			all = all && (strings.HasPrefix(name, "relay") || served[f])
		}
		c.mu.Unlock()
		if all {
			return
		}
	}
	c.t.Fatal("not every instance serves the connection")
}

func buildNWC(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nwc")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/nwc").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func (c *cluster) newConnection(name, budget string) string {
	c.t.Helper()
	args := []string{"connect", "new", "--data-dir", c.dir, "--db", c.db, "--name", name, "--budget", budget,
		"--notifications", "--json"}
	for _, r := range c.relays {
		args = append(args, "--relay", r)
	}
	out, err := exec.Command(c.bin, args...).Output()
	if err != nil {
		c.t.Fatalf("connect new: %v", err)
	}
	var created struct{ URI string }
	if err := json.Unmarshal(out, &created); err != nil || created.URI == "" {
		c.t.Fatalf("connect new output %q: %v", out, err)
	}
	return created.URI
}

// TestMultiInstance runs two `nwc serve` processes on one PostgreSQL database against
// three relays. Needs $NWC_TEST_POSTGRES (scripts/postgres.sh); builds the binary.
func TestMultiInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the nwc binary")
	}
	dbURL := pgtest.URL(t)
	ctx := context.Background()
	c := &cluster{t: t, bin: buildNWC(t), dir: t.TempDir(), db: dbURL, procs: map[string]*nwcProc{}, active: map[string]int{}}
	if keep := os.Getenv("NWC_TEST_KEEP_LOGS"); keep != "" {
		// Debugging aid: keep the processes' logs of a failed run.
		t.Cleanup(func() {
			if t.Failed() {
				os.CopyFS(keep, os.DirFS(c.dir))
			}
		})
	}
	relayDirs := make([]string, 3)
	for i := range relayDirs {
		relayDirs[i] = t.TempDir() // persistent: a restart replays the stored requests
		c.relays = append(c.relays, c.startRelay(fmt.Sprintf("relay%d", i), "127.0.0.1:0", relayDirs[i]))
	}
	st, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stranger, err := sandbox.Open(ctx, sandbox.Config{Alias: "stranger"})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	invoices := func(n int, amount int64) []lightning.Invoice {
		out := make([]lightning.Invoice, n)
		for i := range out {
			inv, err := stranger.MakeInvoice(ctx, lightning.InvoiceParams{Amount: amount, Description: "multi", Expiry: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			out[i] = inv
		}
		return out
	}

	// The first connection exists before the instances start.
	const (
		n      = 1000
		amount = 1_000_000 // msat; sandbox fee 2,000, fee reserve 10,000
		// The budget fits 950 settled payments (fewer while some are pending and hold
		// their larger reserve): the last requests are refused for the budget.
		budget = 950 * 1_002_000
	)
	uri := c.newConnection("load", fmt.Sprintf("%dmsat/never", budget))
	c.start("a")
	c.start("b")
	app := newRawApp(t, uri)
	notes := app.notifications(nip47.KindNotification) // one kind is enough to count; halves the traffic
	c.waitServing(app)

	// 1,000 pay requests, each through all three relays, while instance b is killed with
	// SIGKILL and restarted, and relay 1 restarts.
	{
		conn, err := st.ConnectionByClientKey(ctx, app.uri.Secret.Public())
		if err != nil {
			t.Fatal(err)
		}
		sb, err := sandbox.Open(ctx, sandbox.Config{Path: filepath.Join(c.dir, server.SandboxFile), Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		defer sb.Close()
		balance0, err := sb.Balance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		invs := invoices(n, amount)
		evs := make([]*nostr.Event, n)
		byID := map[nostr.EventID]int{}
		for i := range evs {
			evs[i] = app.request(nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: invs[i].Bolt11})
			byID[evs[i].ID] = i
		}

		// Budget watch: what the store counts against the budget never passes the limit.
		var maxUsed atomic.Int64
		watchCtx, stopWatch := context.WithCancel(ctx)
		watchDone := make(chan struct{})
		go func() {
			defer close(watchDone)
			for watchCtx.Err() == nil {
				if used, err := st.BudgetUsed(watchCtx, conn.ID, time.Time{}); err == nil && int64(used) > maxUsed.Load() {
					maxUsed.Store(int64(used))
				}
				select {
				case <-watchCtx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		// Notifications, counted by kind and payment hash as they come.
		var (
			notesMu sync.Mutex
			sent    = map[noteKey]int{}
		)
		notesCtx, stopNotes := context.WithCancel(ctx)
		notesDone := make(chan struct{})
		go func() {
			defer close(notesDone)
			for {
				select {
				case <-notesCtx.Done():
					return
				case ev, ok := <-notes.Events():
					if !ok {
						return
					}
					nt, _, err := app.cipher.OpenNotification(app.uri.Secret, ev)
					if err != nil {
						continue
					}
					notesMu.Lock()
					sent[noteKey{ev.Kind, nt.NotificationType, nt.Notification.PaymentHash}]++
					notesMu.Unlock()
				}
			}
		}()

		// Publish every request to all three relays, 16 at a time.
		var relayOKs [3]atomic.Int64
		work := make(chan *nostr.Event)
		var pubWG sync.WaitGroup
		for range 16 {
			pubWG.Go(func() {
				for ev := range work {
					pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					res, err := app.pool.Publish(pctx, ev)
					if err == nil {
						rs, _ := res.Wait(pctx)
						for _, r := range rs {
							for i, u := range c.relays {
								if r.Status == relaypool.StatusAccepted && strings.TrimSuffix(r.URL, "/") == strings.TrimSuffix(u, "/") {
									relayOKs[i].Add(1)
								}
							}
						}
					}
					cancel()
				}
			})
		}
		go func() {
			for _, ev := range evs {
				work <- ev
			}
			close(work)
		}()

		// Read answers. Once 300 requests are recorded in the store (executed or being
		// executed), kill instance b and restart it at once; at 600, restart relay 1.
		start := time.Now()
		progress := time.NewTicker(20 * time.Millisecond)
		defer progress.Stop()
		answers := map[nostr.EventID][]*nip47.Response{}
		killed, relayRestarted := false, false
		pubAll := make(chan struct{})
		go func() { pubWG.Wait(); close(pubAll) }()
		pubDone := pubAll
		idle := time.NewTimer(time.Hour)
		published := false
	read:
		for {
			select {
			case ev, open := <-app.resp.Events():
				if !open {
					t.Fatal("response subscription ended")
				}
				to, ok := nip47.ResponseTo(ev)
				if _, mine := byID[to]; !ok || !mine {
					continue
				}
				resp, _, err := app.cipher.OpenResponse(app.uri.Secret, ev)
				if err != nil {
					t.Fatal(err)
				}
				answers[to] = append(answers[to], resp)
				if len(answers) == n {
					break read
				}
				if published {
					idle.Reset(8 * time.Second)
				}
			case <-progress.C:
				if killed && relayRestarted {
					continue
				}
				stats, err := st.RequestStats(ctx, conn.ID)
				if err != nil {
					t.Fatal(err)
				}
				recorded := stats.ByMethod[wallet.MethodPayInvoice]
				if !killed && recorded >= 300 {
					killed = true
					c.signal("b", syscall.SIGKILL)
					c.start("b")
				}
				if !relayRestarted && recorded >= 600 {
					relayRestarted = true
					c.signal("relay1", syscall.SIGTERM)
					c.startRelay("relay1", strings.TrimPrefix(c.relays[1], "ws://"), relayDirs[1])
				}
			case <-pubDone:
				pubDone, published = nil, true
				idle.Reset(8 * time.Second)
			case <-idle.C:
				break read // published everything and no answer for a while
			}
		}
		took := time.Since(start)
		<-pubAll
		if !killed || !relayRestarted {
			t.Fatalf("the run ended before the faults: %d answers", len(answers))
		}

		// Unanswered requests: the instance was killed while serving them. lookup_invoice
		// (through either instance) must show the payment's state once reconciled.
		var visible, visibleSettled, notExecuted int
		for _, ev := range evs {
			if len(answers[ev.ID]) > 0 {
				continue
			}
			hash := invs[byID[ev.ID]].PaymentHash
			deadline := time.Now().Add(20 * time.Second)
			for {
				var tx nip47.Transaction
				e := app.call(nip47.MethodLookupInvoice, nip47.LookupInvoiceParams{PaymentHash: hash}, &tx)
				if e == nil && tx.State != nip47.StatePending {
					visible++
					if tx.State == nip47.StateSettled {
						visibleSettled++
					}
					break
				}
				if e != nil && e.Code == nip47.CodeNotFound {
					// Recorded, then killed before the reservation: nothing was paid (the
					// backend confirms below), so the app may safely send it again.
					if _, err := sb.LookupPayment(ctx, hash); err == nil {
						t.Fatalf("request %s unanswered, lookup_invoice says NOT_FOUND, but the backend paid it", ev.ID)
					}
					notExecuted++
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("request %s: lookup_invoice still %+v / %+v", ev.ID, tx, e)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		stopWatch()
		<-watchDone

		// Counts.
		var ok, quota, otherErr, doubleAnswers int
		for _, rs := range answers {
			if len(rs) > 1 {
				doubleAnswers++
			}
			switch {
			case rs[0].Error == nil:
				ok++
			case rs[0].Error.Code == nip47.CodeQuotaExceeded:
				quota++
			default:
				otherErr++
				t.Logf("error answer: %+v", rs[0].Error)
			}
		}
		executedBy := map[string]int{} // event -> number of instances that ran it
		perLog := map[int]int{}        // log file -> requests it finished
		var duplicates, slowDropped int
		c.scanLogs(func(file int, l logLine) {
			if l.Msg == "relay: dropping slow connection" {
				slowDropped++
			}
			if l.Method != string(nip47.MethodPayInvoice) {
				return
			}
			switch l.Msg {
			case "request":
				executedBy[l.Event]++
				perLog[file]++
			case "duplicate request dropped":
				duplicates++
			}
		})
		twice := 0
		for _, k := range executedBy {
			if k > 1 {
				twice++
			}
		}
		stats, err := st.RequestStats(ctx, conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := st.ListTransactions(ctx, wallet.TxQuery{ConnectionID: conn.ID, Unpaid: true, Type: wallet.TxOutgoing})
		if err != nil {
			t.Fatal(err)
		}
		var settled, failed, pending int
		var settledCost wallet.MSat
		for _, r := range rows {
			switch r.State {
			case wallet.StateSettled:
				settled++
				settledCost += r.Amount + r.FeesPaid
				p, err := sb.LookupPayment(ctx, r.PaymentHash)
				if err != nil || p.State != lightning.PaymentSucceeded {
					t.Errorf("payment %s settled in the store, backend says %+v, %v", r.PaymentHash, p, err)
				}
			case wallet.StateFailed:
				failed++
			default:
				pending++
			}
		}
		balance1, err := sb.Balance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		used, err := st.BudgetUsed(ctx, conn.ID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		stopNotes()
		<-notesDone
		// Every settled payment is notified at most once per kind. One is missed only when
		// its instance died between settling and publishing (it was not answered either).
		answeredOK := map[string]bool{}
		for id, rs := range answers {
			if rs[0].Error == nil {
				answeredOK[invs[byID[id]].PaymentHash] = true
			}
		}
		var notified, notifiedTwice, missedAnswered, missedUnanswered int
		for _, v := range sent {
			if v > 1 {
				notifiedTwice++
			}
		}
		for _, r := range rows {
			if r.State != wallet.StateSettled {
				continue
			}
			switch k := (noteKey{nip47.KindNotification, wallet.NotificationPaymentSent, r.PaymentHash}); {
			case sent[k] > 0:
				notified++
			case answeredOK[r.PaymentHash]:
				missedAnswered++
			default:
				missedUnanswered++
			}
		}

		t.Logf("published %d pay requests in %s; relay OKs %d/%d/%d; slow connections dropped by relays %d", n, took.Round(time.Millisecond),
			relayOKs[0].Load(), relayOKs[1].Load(), relayOKs[2].Load(), slowDropped)
		t.Logf("executed (recorded in the store) %d; finished per instance log (a, b, b restarted): %v; run by two instances: %d; duplicate deliveries suppressed %d",
			stats.ByMethod[wallet.MethodPayInvoice], perLog, twice, duplicates)
		t.Logf("answered %d (ok %d, QUOTA_EXCEEDED %d, other %d, answered twice %d); unanswered %d: payment visible via lookup_invoice %d, never executed %d",
			len(answers), ok, quota, otherErr, doubleAnswers, n-len(answers), visible, notExecuted)
		t.Logf("store: %d settled, %d failed, %d pending; backend spent %d msat = store settled %d msat; budget used %d (max seen %d) <= limit %d",
			settled, failed, pending, balance0-balance1, settledCost, used, maxUsed.Load(), budget)
		t.Logf("payment_sent notifications (NIP-44): %d for %d settled payments; notified twice: %d; missed: %d answered, %d unanswered (instance killed after settling)",
			notified, settled, notifiedTwice, missedAnswered, missedUnanswered)

		if twice != 0 {
			t.Errorf("%d requests executed by two instances", twice)
		}
		if stats.ByMethod[wallet.MethodPayInvoice] != int64(n) {
			t.Errorf("%d pay requests recorded, want %d", stats.ByMethod[wallet.MethodPayInvoice], n)
		}
		if doubleAnswers != 0 {
			t.Errorf("%d requests answered twice", doubleAnswers)
		}
		if len(answers)+visible+notExecuted != n {
			t.Errorf("lost requests: %d answered + %d visible + %d never executed != %d", len(answers), visible, notExecuted, n)
		}
		if pending != 0 {
			t.Errorf("%d payments still pending after reconciliation", pending)
		}
		if balance0-balance1 != int64(settledCost) {
			t.Errorf("backend spent %d msat, the store settled %d: a payment made twice or lost", balance0-balance1, settledCost)
		}
		if int64(used) > budget || maxUsed.Load() > budget {
			t.Errorf("budget exceeded: used %d, max seen %d, limit %d", used, maxUsed.Load(), budget)
		}
		if notifiedTwice != 0 {
			t.Errorf("%d notifications sent twice", notifiedTwice)
		}
		if settled != ok+visibleSettled {
			t.Errorf("%d payments settled, but %d answered ok and %d unanswered show settled", settled, ok, visibleSettled)
		}
	}

	// 200 concurrent payments from one connection, served by both instances, against a
	// budget.
	{
		// 73 payments fit at their pending cost (1,010,000 msat each); a 74th does not fit
		// even once the others have settled at their lower cost (1,002,000 msat): exactly
		// 73 succeed whatever the interleaving of the two instances.
		const (
			n       = 200
			allowed = 73
		)
		uri := c.newConnection("burst", fmt.Sprintf("%dmsat/never", allowed*1_010_000+5_000))
		app := newRawApp(t, uri)
		c.waitServing(app)
		invs := invoices(n, amount)
		evs := make([]*nostr.Event, n)
		ids := make([]nostr.EventID, n)
		for i := range evs {
			evs[i] = app.request(nip47.MethodPayInvoice, nip47.PayInvoiceParams{Invoice: invs[i].Bolt11})
			ids[i] = evs[i].ID
		}
		start := time.Now()
		app.publishAll(evs)
		got := app.collectN(n, 60*time.Second, ids...)
		took := time.Since(start)
		ok, quota := payOutcomes(t, got, ids)
		want := map[string]bool{}
		for _, id := range ids {
			want[id.String()] = true
		}
		byInstance := map[int]int{}
		c.scanLogs(func(file int, l logLine) {
			if l.Msg == "request" && want[l.Event] {
				byInstance[file]++
			}
		})
		t.Logf("200 concurrent pay requests in %s: %d succeeded, %d QUOTA_EXCEEDED; executed per instance log: %v",
			took.Round(time.Millisecond), ok, quota, byInstance)
		if ok != allowed || quota != n-allowed {
			t.Fatalf("%d succeeded and %d were refused, want %d and %d", ok, quota, allowed, n-allowed)
		}
	}
}
