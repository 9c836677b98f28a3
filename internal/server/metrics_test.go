package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/metrics"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

// getURL fetches url without a token (the admin listener is on loopback).
func getURL(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// scrapeUntil scrapes /metrics until check reports no mismatch, or fails after 10s with
// the last mismatches. Counters move after the answer is published, so a client may see
// the answer a moment before the count.
func scrapeUntil(t *testing.T, base string, check func(metrics.Samples) []string) metrics.Samples {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := getURL(t, base+"/metrics")
		if status != http.StatusOK {
			t.Fatalf("/metrics: status %d: %s", status, body)
		}
		s, err := metrics.ParseText(strings.NewReader(string(body)))
		if err != nil {
			t.Fatalf("/metrics does not parse: %v\n%s", err, body)
		}
		bad := check(s)
		if len(bad) == 0 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics never matched:\n%s\n\n%s", strings.Join(bad, "\n"), body)
		}
		time.Sleep(25 * time.Millisecond) // polling an observable condition
	}
}

// announcedConnection creates a connection, has the service subscribe to it and publishes
// its info event before returning, so a client can dial at once.
func announcedConnection(t *testing.T, ctx context.Context, srv *server.Server, o server.ConnectionOptions) *nip47.ConnectionURI {
	t.Helper()
	c, uri, err := server.NewConnection(ctx, srv.Store, srv.Keys, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	ev, err := srv.Service.InfoEvent(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Pool.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	return uri
}

type want struct {
	name string
	kv   []string
	v    float64
}

func expect(ws ...want) func(metrics.Samples) []string {
	return func(s metrics.Samples) []string {
		var bad []string
		for _, w := range ws {
			if got := s.Get(w.name, w.kv...); got != w.v {
				bad = append(bad, fmt.Sprintf("%s = %v, want %v", metrics.Key(w.name, w.kv...), got, w.v))
			}
		}
		return bad
	}
}

// TestMetricsAndHealthz drives a few requests through the whole service (one paid, one
// refused by the budget, one not found), scrapes /metrics and checks every number moved as
// it should; then takes the only relay away and sees /healthz and the gauge report it.
func TestMetricsAndHealthz(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	relayURL, stopRelay := startRelay(t, "127.0.0.1:0", "")
	srv, _ := runServer(t, ctx, server.Options{
		DataDir: t.TempDir(), RelayListen: "off", Relays: []string{relayURL},
		AdminListen: "127.0.0.1:0", Service: service.Config{RatePerSecond: -1},
	})
	base := srv.AdminURL()
	relayKey, err := relaypool.NormalizeURL(relayURL)
	if err != nil {
		t.Fatal(err)
	}

	payerURI := announcedConnection(t, ctx, srv, server.ConnectionOptions{Name: "payer", Budget: "50sat/daily"})
	payeeURI := announcedConnection(t, ctx, srv, server.ConnectionOptions{Name: "payee", Notifications: true})
	payer, err := client.Dial(ctx, payerURI.String())
	if err != nil {
		t.Fatal(err)
	}
	defer payer.Close()
	payee, err := client.Dial(ctx, payeeURI.String())
	if err != nil {
		t.Fatal(err)
	}
	defer payee.Close()
	notes, err := payee.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := payer.GetInfo(ctx); err != nil {
		t.Fatal(err)
	}
	small, err := payee.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 10_000, Description: "metrics"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := payer.PayInvoice(ctx, small.Invoice); err != nil {
		t.Fatal(err)
	}
	// payment_sent and payment_received, each sent as 23197 and 23196 (the client reads one).
	for seen := map[string]bool{}; len(seen) < 2; {
		select {
		case n := <-notes:
			seen[n.NotificationType] = true
		case <-ctx.Done():
			t.Fatal("no notifications")
		}
	}
	big, err := payee.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := payer.PayInvoice(ctx, big.Invoice); !errors.Is(err, nip47.ErrQuotaExceeded) {
		t.Fatalf("pay over budget: %v, want QUOTA_EXCEEDED", err)
	}
	if _, err := payer.LookupInvoiceByHash(ctx, strings.Repeat("ab", 32)); !errors.Is(err, nip47.ErrNotFound) {
		t.Fatalf("lookup unknown: %v, want NOT_FOUND", err)
	}

	req := func(method, outcome string, v float64) want {
		return want{"nwc_requests_total", []string{"method", method, "outcome", outcome}, v}
	}
	s := scrapeUntil(t, base, expect(
		req("get_info", "ok", 1),
		req("make_invoice", "ok", 2),
		req("pay_invoice", "ok", 1),
		req("pay_invoice", "QUOTA_EXCEEDED", 1),
		req("lookup_invoice", "NOT_FOUND", 1),
		want{"nwc_request_duration_seconds_count", []string{"method", "pay_invoice"}, 2},
		want{"nwc_request_duration_seconds_bucket", []string{"method", "make_invoice", "le", "+Inf"}, 2},
		want{"nwc_payments_total", []string{"direction", "outgoing"}, 1},
		want{"nwc_payments_msat_total", []string{"direction", "outgoing"}, 10_000},
		want{"nwc_payments_total", []string{"direction", "incoming"}, 1},
		want{"nwc_payments_msat_total", []string{"direction", "incoming"}, 10_000},
		want{"nwc_budget_refusals_total", nil, 1},
		// Only the payee has the notifications scope; it gets both kinds of each.
		want{"nwc_notifications_sent_total", []string{"type", "payment_sent"}, 2},
		want{"nwc_notifications_sent_total", []string{"type", "payment_received"}, 2},
		want{"nwc_relay_connected", []string{"relay", relayKey}, 1},
		want{"nwc_publish_failures_total", []string{"kind", "23195"}, 0},
		want{"nwc_store_log_failed_later_writes_total", nil, 0},
	))
	// The request log went through group commit: every request was recorded (the rows and
	// outcomes written after the answer commit up to 1 s later).
	s = scrapeUntil(t, base, func(s metrics.Samples) []string {
		if c, w := s.Get("nwc_store_log_commits_total"), s.Get("nwc_store_log_writes_total"); c < 1 || w < 6 || c > w {
			return []string{fmt.Sprintf("request log: %v commits, %v writes; want at least one commit and six writes", c, w)}
		}
		return nil
	})
	if sum := s.Get("nwc_request_duration_seconds_sum", "method", "pay_invoice"); sum <= 0 {
		t.Errorf("pay_invoice latency sum %v, want > 0", sum)
	}

	// The service has answered through the relay: healthy.
	if status, body := getURL(t, base+"/healthz"); status != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("/healthz: %d %s", status, body)
	}

	// The only relay goes away: unhealthy, and the gauge drops.
	stopRelay()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := getURL(t, base+"/healthz")
		var h struct {
			Status   string            `json:"status"`
			Problems map[string]string `json:"problems"`
		}
		json.Unmarshal(body, &h)
		if status == http.StatusServiceUnavailable && h.Status == "unhealthy" && h.Problems["relays"] != "" {
			if h.Problems["store"] != "" || h.Problems["backend"] != "" {
				t.Errorf("store/backend reported unhealthy too: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never reported the relay gone: %d %s", status, body)
		}
		time.Sleep(25 * time.Millisecond) // polling an observable condition
	}
	scrapeUntil(t, base, expect(want{"nwc_relay_connected", []string{"relay", relayKey}, 0}))
}
