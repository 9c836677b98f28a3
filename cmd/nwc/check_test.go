package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/check"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/relay"
)

// TestCheckExitCodes: usage mistakes are 2, unreachable relays 3, a wallet that fails a
// check (here: no info event on the relay) 1, with the report on stdout in every form.
func TestCheckExitCodes(t *testing.T) {
	r, err := relay.New(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := relay.ListenAndServe(context.Background(), "127.0.0.1:0", r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); r.Close() })
	uri := func(relayURL string) string {
		u := nip47.ConnectionURI{WalletPubKey: nostr.GenerateSecretKey().Public(), Relays: []string{relayURL}, Secret: nostr.GenerateSecretKey()}
		return u.String()
	}
	noInfo := uri(url)

	tests := []struct {
		name       string
		args       []string
		want       int
		stdoutHas  string
		stderrHas  string
		jsonReport bool
	}{
		{"no uri", []string{}, appExitUsage, "", "no connection URI", false},
		{"bad uri", []string{"nostr+walletconnect://nope"}, appExitUsage, "", "nwc check:", false},
		{"bad spend-max", []string{noInfo, "--spend-max", "lots"}, appExitUsage, "", "bad --spend-max", false},
		{"two uris", []string{noInfo, noInfo}, appExitUsage, "", "wrong number", false},
		{"no info event", []string{noInfo, "--timeout", "5s"}, appExitWallet, "FAIL    info event (13194)", "", false},
		{"no info event, json", []string{"--json", noInfo, "--timeout", "5s"}, appExitWallet, "", "", true},
		{"no info event, markdown", []string{"--markdown", "--timeout", "5s", noInfo}, appExitWallet, "| FAIL | info event (13194) |", "", false},
		{"unreachable relay", []string{uri("ws://127.0.0.1:1"), "--timeout", "1s"}, appExitTransport, "", "cannot reach", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			got := run(ctx, append([]string{"check"}, tt.args...), &stdout, &stderr)
			if got != tt.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tt.want, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdoutHas) || !strings.Contains(stderr.String(), tt.stderrHas) {
				t.Errorf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			if tt.jsonReport {
				var rep check.Report
				if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || rep.OK() || len(rep.Results) == 0 || rep.Results[0].ID != "info.event" {
					t.Errorf("JSON report %v: %s", err, stdout.String())
				}
			}
		})
	}
}

func TestParseSats(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"", 0, false}, {"10", 10_000, false}, {"10sat", 10_000, false}, {"0", 0, false},
		{"-1", 0, true}, {"1.5", 0, true}, {"x", 0, true}, {"99999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSats(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseSats(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func FuzzParseSats(f *testing.F) {
	for _, s := range []string{"", "10", "10sat", "-1", "1e3", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseSats(s)
		if err == nil && (v < 0 || v%1000 != 0) {
			t.Fatalf("parseSats(%q) = %d", s, v)
		}
	})
}
