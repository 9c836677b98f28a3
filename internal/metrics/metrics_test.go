package metrics

import (
	"bytes"
	"errors"
	"math"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nostr/relaypool"
)

func scrape(t *testing.T, r *Registry) Samples {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	s, err := ParseText(&buf)
	if err != nil {
		t.Fatalf("our own output does not parse: %v\n%s", err, buf.String())
	}
	return s
}

func TestRegistryExposition(t *testing.T) {
	relays := []relaypool.RelayStatus{
		{URL: "ws://127.0.0.1:1", Connected: true, Connections: 2},
		{URL: `wss://odd"relay\x`, Connected: false},
	}
	r := New(func() []relaypool.RelayStatus { return relays })
	r.Request("get_info", "ok", 3*time.Millisecond)
	r.Request("get_info", "ok", 40*time.Millisecond)
	r.Request("get_info", "ok", 10*time.Millisecond) // exactly on a bound: le is inclusive
	r.Request("pay_invoice", "QUOTA_EXCEEDED", 2*time.Second)
	r.Request("no_such_method", "NOT_IMPLEMENTED", time.Millisecond)
	r.Request("", "BAD_REQUEST", time.Millisecond)
	r.Request("get_balance", "SOMETHING_NEW", time.Minute*5)
	r.PublishFailed(23195)
	r.PublishFailed(23195)
	r.PublishFailed(23197)
	r.Payment("outgoing", 1000, 10)
	r.Payment("outgoing", 2000, 0)
	r.Payment("incoming", 5000, 0)
	r.BudgetRefused()
	r.NotificationSent("payment_received")
	r.NotificationSent("payment_received")
	r.NotificationSent("made_up")
	r.SetStoreStats(func() StoreStats { return StoreStats{Commits: 4, Writes: 9, FailedLater: 1} })

	s := scrape(t, r)
	tests := []struct {
		key  string
		want float64
	}{
		{Key("nwc_requests_total", "method", "get_info", "outcome", "ok"), 3},
		{Key("nwc_requests_total", "method", "pay_invoice", "outcome", "QUOTA_EXCEEDED"), 1},
		{Key("nwc_requests_total", "method", "unknown", "outcome", "NOT_IMPLEMENTED"), 1},
		{Key("nwc_requests_total", "method", "undecodable", "outcome", "BAD_REQUEST"), 1},
		{Key("nwc_requests_total", "method", "get_balance", "outcome", "other"), 1},
		{Key("nwc_request_duration_seconds_bucket", "method", "get_info", "le", "0.005"), 1},
		{Key("nwc_request_duration_seconds_bucket", "method", "get_info", "le", "0.01"), 2},
		{Key("nwc_request_duration_seconds_bucket", "method", "get_info", "le", "0.025"), 2},
		{Key("nwc_request_duration_seconds_bucket", "method", "get_info", "le", "0.05"), 3},
		{Key("nwc_request_duration_seconds_bucket", "method", "get_info", "le", "+Inf"), 3},
		{Key("nwc_request_duration_seconds_count", "method", "get_info"), 3},
		{Key("nwc_request_duration_seconds_sum", "method", "get_info"), 0.053},
		{Key("nwc_request_duration_seconds_bucket", "method", "get_balance", "le", "60"), 0},
		{Key("nwc_request_duration_seconds_bucket", "method", "get_balance", "le", "+Inf"), 1},
		{Key("nwc_relay_connected", "relay", "ws://127.0.0.1:1"), 1},
		{Key("nwc_relay_connected", "relay", `wss://odd"relay\x`), 0},
		{Key("nwc_relay_connections_total", "relay", "ws://127.0.0.1:1"), 2},
		{Key("nwc_publish_failures_total", "kind", "23195"), 2},
		{Key("nwc_publish_failures_total", "kind", "23197"), 1},
		{Key("nwc_payments_total", "direction", "outgoing"), 2},
		{Key("nwc_payments_msat_total", "direction", "outgoing"), 3000},
		{Key("nwc_payments_total", "direction", "incoming"), 1},
		{Key("nwc_payments_msat_total", "direction", "incoming"), 5000},
		{Key("nwc_payment_fees_msat_total"), 10},
		{Key("nwc_budget_refusals_total"), 1},
		{Key("nwc_notifications_sent_total", "type", "payment_received"), 2},
		{Key("nwc_notifications_sent_total", "type", "other"), 1},
		{Key("nwc_store_log_commits_total"), 4},
		{Key("nwc_store_log_writes_total"), 9},
		{Key("nwc_store_log_failed_later_writes_total"), 1},
	}
	for _, tt := range tests {
		got, ok := s[tt.key]
		if !ok {
			t.Errorf("%s missing", tt.key)
			continue
		}
		if math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", tt.key, got, tt.want)
		}
	}
	for k := range s {
		if strings.Contains(k, "no_such_method") || strings.Contains(k, "SOMETHING_NEW") || strings.Contains(k, "made_up") {
			t.Errorf("a label value from the network leaked into a series: %s", k)
		}
	}
}

func TestEmptyAndNilRegistry(t *testing.T) {
	for name, r := range map[string]*Registry{"empty": New(nil), "nil": nil} {
		r.Request("get_info", "ok", time.Millisecond) // no-op on nil, counted on empty
		r.PublishFailed(1)
		r.Payment("x", 1, 1)
		r.BudgetRefused()
		r.NotificationSent("payment_sent")
		s := scrape(t, r)
		want := 0.0
		if r != nil {
			want = 1
		}
		if got := s.Get("nwc_budget_refusals_total"); got != want {
			t.Errorf("%s: budget refusals %v, want %v", name, got, want)
		}
		if _, ok := s[Key("nwc_payments_total", "direction", "incoming")]; !ok {
			t.Errorf("%s: the payment directions are not pre-filled with 0", name)
		}
	}
}

func TestServeHTTP(t *testing.T) {
	r := New(nil)
	r.BudgetRefused()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	s, err := ParseText(rec.Body)
	if err != nil || s.Get("nwc_budget_refusals_total") != 1 {
		t.Fatalf("%v %v", s, err)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	r := New(nil)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				r.Request("get_balance", "ok", time.Millisecond)
				r.Payment("incoming", 1, 0)
				if j%100 == 0 {
					r.WriteText(&bytes.Buffer{})
				}
			}
		}()
	}
	wg.Wait()
	s := scrape(t, r)
	if got := s.Get("nwc_requests_total", "method", "get_balance", "outcome", "ok"); got != 4000 {
		t.Errorf("requests %v, want 4000", got)
	}
	if got := s.Get("nwc_payments_msat_total", "direction", "incoming"); got != 4000 {
		t.Errorf("amount %v, want 4000", got)
	}
}

func TestParseText(t *testing.T) {
	tests := []struct {
		name, in string
		want     Samples
		err      bool
	}{
		{"comments and blank", "# HELP x y\n\n# TYPE x counter\nx 1\n", Samples{"x": 1}, false},
		{"labels sorted", `m{b="2",a="1"} 3` + "\n", Samples{`m{a="1",b="2"}`: 3}, false},
		{"escapes", `m{a="q\"b\\n\n"} 1`, Samples{Key("m", "a", "q\"b\\n\n"): 1}, false},
		{"timestamp", "m 2 1700000000000", Samples{"m": 2}, false},
		{"trailing comma", `m{a="1",} 1`, Samples{`m{a="1"}`: 1}, false},
		{"inf", `m{le="+Inf"} +Inf`, Samples{`m{le="+Inf"}`: math.Inf(1)}, false},
		{"no value", "m\n", nil, true},
		{"bad value", "m x\n", nil, true},
		{"bad name", "1m 1\n", nil, true},
		{"unquoted", "m{a=1} 1\n", nil, true},
		{"unterminated", `m{a="1} 1`, nil, true},
		{"bad escape", `m{a="\t"} 1`, nil, true},
		{"extra field", "m 1 2 3", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseText(strings.NewReader(tt.in))
			if tt.err {
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("err = %v, want ErrSyntax", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

func FuzzParseText(f *testing.F) {
	var buf bytes.Buffer
	r := New(func() []relaypool.RelayStatus { return []relaypool.RelayStatus{{URL: "ws://a\"b", Connected: true}} })
	r.Request("get_info", "ok", time.Millisecond)
	r.WriteText(&buf)
	f.Add(buf.String())
	f.Add(`m{a="x\\y",b="\""} 1.5e3 17`)
	f.Add("m{} NaN\n# c\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseText(strings.NewReader(in))
		if err != nil {
			return
		}
		// Every parsed series, written back as "key value", parses to the same key.
		for k := range s {
			again, err := ParseText(strings.NewReader(k + " 1\n"))
			if err != nil {
				t.Fatalf("re-parse of %q: %v", k, err)
			}
			if _, ok := again[k]; !ok || len(again) != 1 {
				t.Fatalf("re-parse of %q gave %v", k, again)
			}
		}
	})
}
