package relaypool

// Interop: the pool against a relay this project did not write (@nostr-relay/core on node,
// see interop/relay). Skipped unless NWC_INTEROP_RELAY_CMD names the command that starts it,
// e.g. "node /abs/path/interop/relay/relay.js"; .ci/run sets it.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nostr"
)

// startInteropRelay starts the third-party relay on 127.0.0.1 (port "0" = a free one) and
// returns its URL and a stop function (idempotent, also run at cleanup).
func startInteropRelay(t *testing.T, port string, auth bool) (string, func()) {
	t.Helper()
	args := strings.Fields(os.Getenv("NWC_INTEROP_RELAY_CMD"))
	if len(args) == 0 {
		t.Skip("NWC_INTEROP_RELAY_CMD not set")
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "PORT="+port)
	if auth {
		cmd.Env = append(cmd.Env, "NWC_INTEROP_AUTH=1")
	}
	stdin, err := cmd.StdinPipe() // the relay exits when its stdin closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	exited := make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		cmd.Wait()
		close(exited)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(line, "listening ")
		if !ok {
			t.Fatalf("unexpected first line from the relay: %q", line)
		}
		return url, stop
	case <-exited:
		t.Fatal("interop relay exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("interop relay did not start")
	}
	return "", nil
}

func TestInteropThirdPartyRelay(t *testing.T) {
	checkLeaks(t)
	url, stop := startInteropRelay(t, "0", false)
	p := testPool(t, Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, url)
	alice, svc := nostr.GenerateSecretKey(), nostr.GenerateSecretKey()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Publish: regular, replaceable (newer wins), and a refused one.
	for _, ev := range []*nostr.Event{
		newEvent(t, alice, 1, 100, "note"),
		newEvent(t, svc, 13194, 100, "info v1"),
		newEvent(t, svc, 13194, 200, "info v2"),
	} {
		if rr, err := publish(t, p, ev); err != nil {
			t.Fatalf("publish %q: %v %+v", ev.Content, err, rr)
		}
	}
	bad := newEvent(t, alice, 1, 1, "bad")
	bad.Sig[3] ^= 1
	if rr, err := publish(t, p, bad); !errors.Is(err, ErrNotAccepted) || rr.Status != StatusRejected {
		t.Fatalf("invalid signature: %v %+v", err, rr)
	}

	tests := []struct {
		name   string
		filter nostr.Filter
		want   []string
	}{
		{"kinds", nostr.Filter{Kinds: []int{1}}, []string{"note"}},
		{"replaceable keeps the newest", nostr.Filter{Kinds: []int{13194}, Authors: []string{svc.Public().String()}}, []string{"info v2"}},
		{"no match", nostr.Filter{Kinds: []int{2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := query(t, p, tt.filter); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Live ephemeral request, received by a subscriber on another pool.
	reqFilter := []nostr.Filter{{Kinds: []int{23194}, Tags: map[string][]string{"p": {svc.Public().String()}}}}
	sp := testPool(t, Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, url)
	sub, err := sp.Subscribe(ctx, reqFilter)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	waitEOSE(t, sub)
	if _, err := publish(t, p, newEvent(t, alice, 23194, time.Now().Unix(), "request 1", nostr.Tag{"p", svc.Public().String()})); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sub, 1); got[0] != "request 1" {
		t.Fatalf("got %v", got)
	}

	// Restart the relay on the same port: the subscriber's pool reconnects and resubscribes.
	stop()
	waitFor(t, "disconnect", func() bool { return !sp.Relays()[0].Connected })
	url2, _ := startInteropRelay(t, url[strings.LastIndex(url, ":")+1:], false)
	if url2 != url {
		t.Fatalf("restarted at %s, want %s", url2, url)
	}
	waitFor(t, "reconnect", func() bool { return sp.Relays()[0].Connections == 2 })
	query(t, sp, nostr.Filter{Kinds: []int{65000}}) // barrier: the resubscription is in place
	if _, err := publish(t, p, newEvent(t, alice, 23194, time.Now().Unix(), "request 2", nostr.Tag{"p", svc.Public().String()})); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, sub, 1); got[0] != "request 2" {
		t.Fatalf("after restart: got %v", got)
	}
}

func TestInteropThirdPartyRelayAuth(t *testing.T) {
	checkLeaks(t)
	url, _ := startInteropRelay(t, "0", true)
	app := nostr.GenerateSecretKey()
	p := testPool(t, Options{}, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// No key: the relay's refusal is reported.
	s0, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}})
	if err != nil {
		t.Fatal(err)
	}
	waitEOSE(t, s0)
	if reason := s0.RelayErrors()[url]; !hasPrefix(reason, "auth-required") {
		t.Fatalf("CLOSED reason %q", reason)
	}
	s0.Close()

	// With a key: refused, authenticated against the relay's own NIP-42 check, retried.
	rr, err := publish(t, p, newEvent(t, app, 1, 100, "authed note"), WithAuthKey(app))
	if err != nil {
		t.Fatalf("publish: %v %+v", err, rr)
	}
	sub, err := p.Subscribe(ctx, []nostr.Filter{{Kinds: []int{1}}}, WithAuthKey(app))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := recv(t, sub, 1); got[0] != "authed note" {
		t.Fatalf("got %v", got)
	}
	waitEOSE(t, sub)
	if e := sub.RelayErrors(); len(e) != 0 {
		t.Fatalf("relay errors %v", e)
	}
}
