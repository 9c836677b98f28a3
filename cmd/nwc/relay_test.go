package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

func TestRelayCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	npub := nostr.EncodeNpub(nostr.GenerateSecretKey().Public())
	go func() {
		code <- runRelay(ctx, []string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--auth-allow", npub}, io.Discard, pw)
		pw.Close()
	}()

	// The URL is logged once the relay listens.
	urlRE := regexp.MustCompile(`url=(ws://\S+)`)
	sc := bufio.NewScanner(pr)
	var url string
	for url == "" && sc.Scan() {
		if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("no URL logged (exit %d)", <-code)
	}
	logs := make(chan string, 1)
	go func() { // keep draining so logging never blocks
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		logs <- b.String()
	}()

	req, _ := http.NewRequest(http.MethodGet, "http://"+strings.TrimPrefix(url, "ws://"), nil)
	req.Header.Set("Accept", "application/nostr+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"auth_required":true`) {
		t.Errorf("NIP-11: %s", body)
	}

	cancel() // what SIGINT does in main
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("relay did not stop on cancel")
	}
	if out := <-logs; !strings.Contains(out, "relay stopped") {
		t.Errorf("logs after stop: %q", out)
	}
}

func TestRelayCommandBadFlags(t *testing.T) {
	tests := [][]string{
		{"--auth-allow", "npub1notakey"},
		{"--auth-allow", "ABCDEF"},
		{"--max-message-bytes", "1000"},
		{"extra"},
		{"--listen", "256.0.0.1:bad"},
	}
	for _, args := range tests {
		var stderr strings.Builder
		if c := runRelay(context.Background(), args, io.Discard, &stderr); c == 0 {
			t.Errorf("%v: exit 0", args)
		} else if !strings.Contains(stderr.String(), "nwc relay") {
			t.Errorf("%v: stderr %q", args, stderr.String())
		}
	}
}
