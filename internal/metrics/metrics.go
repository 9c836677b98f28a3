// Package metrics counts what the wallet service does and serves it in the Prometheus
// text exposition format (version 0.0.4). The format is simple enough to write by hand,
// which spares the project a client library and its dependencies.
//
// A Registry implements service.Metrics (the hooks the request pipeline calls) and
// http.Handler (the /metrics page). Label values that come from the network (method
// names, error codes) are mapped onto a fixed set, so a client cannot grow the number of
// series by inventing methods.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// LatencyBuckets are the upper bounds (seconds) of the request latency histograms: from a
// cached get_balance to a payment that waits for the network.
var LatencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Registry holds the counters. The zero value is not usable; create one with New.
// A nil *Registry ignores every call, so it can stand for "no metrics".
type Registry struct {
	relays func() []relaypool.RelayStatus
	store  func() StoreStats // set by SetStoreStats; nil = not reported

	mu              sync.Mutex
	requests        map[[2]string]uint64 // method, outcome
	latency         map[string]*histogram
	publishFailures map[string]uint64 // kind
	payments        map[string]*payments
	budgetRefusals  uint64
	notifications   map[string]uint64
}

type payments struct{ count, amount, fees int64 }

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last one is +Inf
	sum    float64
	count  uint64
}

// New returns a registry. relays, if not nil, is read at every scrape for the relay
// connection gauges (relaypool.Pool.Relays).
func New(relays func() []relaypool.RelayStatus) *Registry {
	return &Registry{
		relays:          relays,
		requests:        make(map[[2]string]uint64),
		latency:         make(map[string]*histogram),
		publishFailures: make(map[string]uint64),
		payments:        map[string]*payments{"incoming": {}, "outgoing": {}},
		notifications:   make(map[string]uint64),
	}
}

// StoreStats are the request log's group-commit counters (sqlstore.Store.GroupCommitStats).
type StoreStats struct {
	Commits, Writes, FailedLater uint64
}

// SetStoreStats makes every scrape report the store's request-log counters, read by f.
// Call it before serving scrapes.
func (r *Registry) SetStoreStats(f func() StoreStats) {
	if r != nil {
		r.store = f
	}
}

// methodLabel keeps the method label to the known methods.
func methodLabel(m string) string {
	if m == "" {
		return "undecodable"
	}
	if slices.Contains(nip47.Methods, nip47.Method(m)) {
		return m
	}
	return "unknown"
}

// outcomeLabel keeps the outcome label to "ok" and the known error codes.
func outcomeLabel(o string) string {
	if o == "ok" || nip47.ErrorCode(o).Known() {
		return o
	}
	return "other"
}

// Request implements service.Metrics.
func (r *Registry) Request(method, outcome string, took time.Duration) {
	if r == nil {
		return
	}
	m := methodLabel(method)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests[[2]string{m, outcomeLabel(outcome)}]++
	h := r.latency[m]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(LatencyBuckets)+1)}
		r.latency[m] = h
	}
	s := took.Seconds()
	i, _ := slices.BinarySearch(LatencyBuckets, s) // first bound >= s (le is inclusive)
	h.counts[i]++
	h.sum += s
	h.count++
}

// PublishFailed implements service.Metrics.
func (r *Registry) PublishFailed(kind int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.publishFailures[strconv.Itoa(kind)]++
	r.mu.Unlock()
}

// Payment implements service.Metrics.
func (r *Registry) Payment(direction string, amount, fee int64) {
	if r == nil {
		return
	}
	if direction != "incoming" && direction != "outgoing" {
		direction = "other"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.payments[direction]
	if p == nil {
		p = &payments{}
		r.payments[direction] = p
	}
	p.count++
	p.amount += amount
	p.fees += fee
}

// BudgetRefused implements service.Metrics.
func (r *Registry) BudgetRefused() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.budgetRefusals++
	r.mu.Unlock()
}

// NotificationSent implements service.Metrics.
func (r *Registry) NotificationSent(typ string) {
	if r == nil {
		return
	}
	switch typ {
	case nip47.NotificationPaymentReceived, nip47.NotificationPaymentSent, nip47.NotificationHoldInvoiceAccepted:
	default:
		typ = "other"
	}
	r.mu.Lock()
	r.notifications[typ]++
	r.mu.Unlock()
}

// ServeHTTP writes the metrics in the text exposition format.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	r.WriteText(w)
}

// WriteText writes every metric family in the text exposition format, in a fixed order.
func (r *Registry) WriteText(out io.Writer) error {
	w := bufio.NewWriter(out)
	var relays []relaypool.RelayStatus
	if r != nil && r.relays != nil {
		relays = r.relays() // outside r.mu: the pool has its own lock
	}
	var store *StoreStats
	if r != nil && r.store != nil {
		st := r.store()
		store = &st
	}
	if r == nil {
		r = New(nil)
	}
	r.mu.Lock()
	defer r.mu.Unlock()

	family(w, "nwc_requests_total", "counter", "Requests answered, by method and outcome (ok or the NIP-47 error code).")
	for _, k := range sortedKeys(r.requests, func(a, b [2]string) int {
		return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1])
	}) {
		sample(w, "nwc_requests_total", labels("method", k[0], "outcome", k[1]), float64(r.requests[k]))
	}

	family(w, "nwc_request_duration_seconds", "histogram", "Time from receiving a request to publishing its answer, by method.")
	for _, m := range sortedKeys(r.latency, strings.Compare) {
		h := r.latency[m]
		var cum uint64
		for i, le := range LatencyBuckets {
			cum += h.counts[i]
			sample(w, "nwc_request_duration_seconds_bucket", labels("method", m, "le", formatFloat(le)), float64(cum))
		}
		sample(w, "nwc_request_duration_seconds_bucket", labels("method", m, "le", "+Inf"), float64(h.count))
		sample(w, "nwc_request_duration_seconds_sum", labels("method", m), h.sum)
		sample(w, "nwc_request_duration_seconds_count", labels("method", m), float64(h.count))
	}

	family(w, "nwc_relay_connected", "gauge", "1 if the relay is connected now, else 0.")
	for _, s := range relays {
		v := 0.0
		if s.Connected {
			v = 1
		}
		sample(w, "nwc_relay_connected", labels("relay", s.URL), v)
	}
	family(w, "nwc_relay_connections_total", "counter", "Successful connections to the relay (reconnects included).")
	for _, s := range relays {
		sample(w, "nwc_relay_connections_total", labels("relay", s.URL), float64(s.Connections))
	}

	family(w, "nwc_publish_failures_total", "counter", "Events no relay accepted, by kind (23195 response, 23196/23197 notification, 13194 info, 5 deletion).")
	for _, k := range sortedKeys(r.publishFailures, strings.Compare) {
		sample(w, "nwc_publish_failures_total", labels("kind", k), float64(r.publishFailures[k]))
	}

	dirs := sortedKeys(r.payments, strings.Compare)
	family(w, "nwc_payments_total", "counter", "Settled payments, by direction.")
	for _, d := range dirs {
		sample(w, "nwc_payments_total", labels("direction", d), float64(r.payments[d].count))
	}
	family(w, "nwc_payments_msat_total", "counter", "Amount of the settled payments in msat, by direction (fees excluded).")
	for _, d := range dirs {
		sample(w, "nwc_payments_msat_total", labels("direction", d), float64(r.payments[d].amount))
	}
	family(w, "nwc_payment_fees_msat_total", "counter", "Routing fees paid by outgoing payments in msat.")
	sample(w, "nwc_payment_fees_msat_total", "", float64(r.payments["outgoing"].fees))

	family(w, "nwc_budget_refusals_total", "counter", "Payments refused because the connection's budget was used up (QUOTA_EXCEEDED).")
	sample(w, "nwc_budget_refusals_total", "", float64(r.budgetRefusals))

	family(w, "nwc_notifications_sent_total", "counter", "Notification events a relay accepted, by type (each notification goes out as 23197 and 23196).")
	for _, k := range sortedKeys(r.notifications, strings.Compare) {
		sample(w, "nwc_notifications_sent_total", labels("type", k), float64(r.notifications[k]))
	}

	if store != nil {
		family(w, "nwc_store_log_commits_total", "counter", "Transactions that committed request-log writes (group commit, SQLite).")
		sample(w, "nwc_store_log_commits_total", "", float64(store.Commits))
		family(w, "nwc_store_log_writes_total", "counter", "Request-log writes committed in those transactions.")
		sample(w, "nwc_store_log_writes_total", "", float64(store.Writes))
		family(w, "nwc_store_log_failed_later_writes_total", "counter", "Request outcomes written without waiting that then failed (nothing else reports them).")
		sample(w, "nwc_store_log_failed_later_writes_total", "", float64(store.FailedLater))
	}
	return w.Flush()
}

func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

func family(w *bufio.Writer, name, typ, help string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func sample(w *bufio.Writer, name, labels string, v float64) {
	w.WriteString(name)
	w.WriteString(labels)
	w.WriteByte(' ')
	w.WriteString(formatFloat(v))
	w.WriteByte('\n')
}

// labels renders {k1="v1",k2="v2"} from name/value pairs.
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
