package bench_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/bench"
	"github.com/nwc-go/nwc/internal/leakcheck"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/server/servertest"
	"github.com/nwc-go/nwc/internal/service"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// TestMain fails the package if goroutines outlive the tests (relay sockets, demuxers,
// the in-process service). database/sql and net/http goroutines exit shortly after
// Close, hence the grace.
func TestMain(m *testing.M) { leakcheck.Main(m, 5*time.Second) }

// startService runs an in-process sandbox service (relay on 127.0.0.1:0, no rate limit)
// with n connections and returns their URIs.
func startService(t *testing.T, n int) []*nip47.ConnectionURI {
	t.Helper()
	ctx := context.Background()
	srv := servertest.Start(t, server.Options{AdminListen: "off", Service: service.Config{RatePerSecond: -1}})
	var uris []*nip47.ConnectionURI
	for i := range n {
		_, u, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{Name: fmt.Sprint("bench ", i)})
		if err != nil {
			t.Fatal(err)
		}
		uris = append(uris, u)
	}
	if err := srv.Service.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	return uris
}

func TestRunAgainstInProcessService(t *testing.T) {
	uris := startService(t, 2)
	mix, err := bench.ParseMix("get_balance=4,make_invoice=1,pay_invoice=1,lookup_invoice=1,get_info=1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  bench.Config
		want func(t *testing.T, r *bench.Report)
	}{
		{
			name: "closed loop, count, mix between two connections",
			cfg: bench.Config{Mix: mix, Concurrency: 4, Count: 48,
				Payees: []*nip47.ConnectionURI{uris[1], uris[0]}},
			want: func(t *testing.T, r *bench.Report) {
				if r.Sent != 48 || r.OK != 48 || r.Errors != 0 || r.Latency.Count != 48 {
					t.Errorf("sent %d ok %d errors %v answered %d, want 48 ok", r.Sent, r.OK, r.ErrorCodes, r.Latency.Count)
				}
				if r.Mode != "closed-loop" || r.Connections != 2 || r.Encryption != string(nip47.EncryptionNIP44) {
					t.Errorf("mode %q connections %d encryption %q", r.Mode, r.Connections, r.Encryption)
				}
				if r.Methods["get_balance"].OK == 0 || r.Methods["pay_invoice"].OK+r.Methods["make_invoice"].OK == 0 {
					t.Errorf("methods %+v: want a mix", r.Methods)
				}
				if r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 || r.Latency.Max < r.Latency.P99 || r.Throughput <= 0 {
					t.Errorf("latency %+v throughput %v", r.Latency, r.Throughput)
				}
			},
		},
		{
			name: "open loop, duration, forced NIP-04",
			cfg: bench.Config{Mix: bench.Mix{{Method: nip47.MethodGetBalance, Weight: 1}}, Rate: 100,
				Duration: 300 * time.Millisecond, Encryption: nip47.EncryptionNIP04},
			want: func(t *testing.T, r *bench.Report) {
				// 100/s for 0.3 s: requests at 0, 10, ..., 290 ms.
				if r.Sent != 30 || r.OK != 30 || r.Mode != "open-loop" || r.Encryption != string(nip47.EncryptionNIP04) {
					t.Errorf("sent %d ok %d errors %v mode %s enc %s, want 30 ok open-loop nip04", r.Sent, r.OK, r.ErrorCodes, r.Mode, r.Encryption)
				}
			},
		},
		{
			name: "CPU of a process against the crypto",
			cfg:  bench.Config{Mix: bench.Mix{{Method: nip47.MethodGetBalance, Weight: 1}}, Count: 20, PID: os.Getpid(), CryptoSamples: 50},
			want: func(t *testing.T, r *bench.Report) {
				if runtime.GOOS != "linux" {
					return
				}
				if c := r.CPU; c == nil || c.Requests != 20 || c.CryptoMicros <= 0 || c.PID != os.Getpid() {
					t.Errorf("cpu report %+v", r.CPU)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.PID > 0 && runtime.GOOS != "linux" {
				t.Skip("CPU clocks are read on Linux only")
			}
			tc.cfg.Targets = uris
			var progress int
			tc.cfg.Progress, tc.cfg.ProgressEvery = func(bench.Progress) { progress++ }, 50*time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			r, err := bench.Run(ctx, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			tc.want(t, r)
		})
	}
}

func TestRunReportsTimeoutsAndMissingWallets(t *testing.T) {
	uris := startService(t, 1)
	// A wallet key nobody serves, on the same relay.
	ghost := &nip47.ConnectionURI{WalletPubKey: nostr.GenerateSecretKey().Public(), Relays: uris[0].Relays, Secret: nostr.GenerateSecretKey()}
	get := bench.Mix{{Method: nip47.MethodGetBalance, Weight: 1}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	_, err := bench.Run(ctx, bench.Config{Targets: []*nip47.ConnectionURI{ghost}, Mix: get, Count: 1, ReadyTimeout: 300 * time.Millisecond})
	if !errors.Is(err, bench.ErrNoInfo) {
		t.Fatalf("no info event: err %v, want ErrNoInfo", err)
	}
	r, err := bench.Run(ctx, bench.Config{Targets: []*nip47.ConnectionURI{ghost}, Mix: get, Count: 3, Concurrency: 3,
		Encryption: nip47.EncryptionNIP44, Timeout: 300 * time.Millisecond, ReadyTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 0 || r.ErrorCodes[bench.CodeTimeout] != 3 || r.Latency.Count != 0 {
		t.Fatalf("ok %d errors %v answered %d, want 3 timeouts", r.OK, r.ErrorCodes, r.Latency.Count)
	}
}

func TestConfigErrors(t *testing.T) {
	u := &nip47.ConnectionURI{WalletPubKey: nostr.GenerateSecretKey().Public(), Relays: []string{"ws://127.0.0.1:1"}, Secret: nostr.GenerateSecretKey()}
	get := bench.Mix{{Method: nip47.MethodGetBalance, Weight: 1}}
	tests := []struct {
		name string
		cfg  bench.Config
		want error
	}{
		{"no targets", bench.Config{Mix: get, Count: 1}, bench.ErrNoTargets},
		{"no mix", bench.Config{Targets: []*nip47.ConnectionURI{u}, Count: 1}, bench.ErrBadConfig},
		{"no bound", bench.Config{Targets: []*nip47.ConnectionURI{u}, Mix: get}, bench.ErrBadConfig},
		{"negative rate", bench.Config{Targets: []*nip47.ConnectionURI{u}, Mix: get, Count: 1, Rate: -1}, bench.ErrBadConfig},
		{"no secret", bench.Config{Targets: []*nip47.ConnectionURI{{WalletPubKey: u.WalletPubKey, Relays: u.Relays}}, Mix: get, Count: 1}, bench.ErrBadConfig},
	}
	for _, tc := range tests {
		if _, err := bench.Run(context.Background(), tc.cfg); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}
