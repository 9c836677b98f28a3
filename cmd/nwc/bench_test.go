package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/internal/bench"
)

// TestBenchLocal runs `nwc bench --local` end to end: an in-process sandbox service, two
// connections paying each other, a JSON report.
func TestBenchLocal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := runBench(ctx, []string{"--local", "--data-dir", dir, "--connections", "2", "--count", "20",
		"--mix", "get_balance=3,pay_invoice=1", "--concurrency", "4", "--json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report %q: %v", stdout.String(), err)
	}
	if rep.OK != 20 || rep.Errors != 0 || rep.Connections != 2 {
		t.Fatalf("report ok %d errors %v connections %d", rep.OK, rep.ErrorCodes, rep.Connections)
	}
	// The progress line went to stderr (not a terminal: one line each).
	if !strings.Contains(stderr.String(), "req/s") && rep.Seconds >= 1 {
		t.Errorf("no progress line in %q", stderr.String())
	}
	// The connections are kept for the next run, readable by the owner only.
	st, err := os.Stat(filepath.Join(dir, benchConnectionsFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("connections file: %v, mode %v", err, st.Mode())
	}
	stdout.Reset()
	if code := runBench(ctx, []string{"--local", "--data-dir", dir, "--connections", "2", "--count", "4", "--quiet"}, &stdout, &stderr); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "throughput") || !strings.Contains(out, "4 ok") {
		t.Errorf("text report %q", out)
	}
	data, err := os.ReadFile(filepath.Join(dir, benchConnectionsFile))
	if err != nil || strings.Count(string(data), "\n") != 2 {
		t.Errorf("the second run should reuse the 2 connections: %q, %v", data, err)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	tests := [][]string{
		{},
		{"--uri", "nostr+walletconnect://nope"},
		{"--uri", "x", "--local"},
		{"--local", "--mix", "pay_keysend"},
		{"--local", "--amount", "-5sat"},
		{"--local", "--encryption", "rot13"},
		{"extra"},
	}
	for _, args := range tests {
		t.Setenv(appEnvURI, "")
		var stderr strings.Builder
		if code := runBench(context.Background(), args, io.Discard, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

func TestServePprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "example.com:0", "nope"} {
		if _, stop, err := servePprof(addr); err == nil {
			stop()
			t.Errorf("%s: accepted", addr)
		}
	}
	addr, stop, err := servePprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
