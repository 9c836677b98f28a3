// Package admin_test drives the admin web page in a real browser (Debian's chromium through
// playwright-core, see admin.mjs) against a wallet service running in the test, and plays
// the apps with the Go client. It runs only with NWC_E2E_BROWSER=1, after `npm ci` here.
package admin_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nwc-go/nwc/client"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
	"github.com/nwc-go/nwc/nostr/relaypool"
)

func TestAdminPageInBrowser(t *testing.T) {
	if os.Getenv("NWC_E2E_BROWSER") != "1" {
		t.Skip("set NWC_E2E_BROWSER=1 (needs chromium and `npm ci` in e2e/admin)")
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Fatal("run `npm ci` in e2e/admin first")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	srv, err := server.Open(ctx, server.Options{DataDir: t.TempDir(), RelayListen: "127.0.0.1:0", AdminListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(runCtx) }()
	defer func() { stop(); <-done; srv.Close() }()

	// The shop the browser-made connection pays: another connection of the same wallet.
	_, shopURI, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{Name: "Shop", Relays: srv.RelayURLs})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Service.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	shop := dial(t, ctx, shopURI.String())

	// The app that asks to connect from the NWA page, waiting for its info event.
	nwaApp := nostr.GenerateSecretKey()
	nwaURI := &nip47.WalletAuthURI{ClientPubKey: nwaApp.Public(), Relays: srv.RelayURLs, Name: "Browser NWA app",
		RequestMethods: []nip47.Method{nip47.MethodGetBalance}}
	appPool := relaypool.New(relaypool.Options{})
	defer appPool.Close()
	for _, u := range srv.RelayURLs {
		appPool.AddRelay(u)
	}
	infoSub, err := appPool.Subscribe(ctx, []nostr.Filter{{Kinds: []int{nip47.KindInfo}, Tags: map[string][]string{"p": {nwaApp.Public().String()}}}})
	if err != nil {
		t.Fatal(err)
	}

	artifacts, err := filepath.Abs("artifacts")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", "admin.mjs")
	cmd.Env = append(os.Environ(), "ADMIN_URL="+srv.AdminURL(), "ADMIN_TOKEN="+srv.AdminToken,
		"NWA_URI="+nwaURI.String(), "ARTIFACTS_DIR="+artifacts)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	finished := false
	defer func() {
		if !finished {
			stdin.Close()
			cmd.Process.Kill()
			for range lines {
			}
			cmd.Wait()
			t.Logf("browser script stderr:\n%s", stderr.String())
		}
	}()
	next := func(prefix string) string {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("browser script ended before %q; screenshots in %s", prefix, artifacts)
				}
				if v, ok := strings.CutPrefix(l, prefix+" "); ok || l == prefix {
					return v
				}
				t.Logf("browser: %s", l)
			case <-ctx.Done():
				t.Fatalf("waiting for %q: %v", prefix, ctx.Err())
			}
		}
	}

	// The browser logs in and creates a connection; the app uses the URI it shows.
	uri := next("URI")
	// No retry here: the page shows the URI only once the info event is on the relays.
	app, err := client.Dial(ctx, uri, client.WithTimeout(20*time.Second))
	if err != nil {
		t.Fatalf("dial the URI from the page: %v", err)
	}
	defer app.Close()
	inv, err := shop.MakeInvoice(ctx, nip47.MakeInvoiceParams{Amount: 2_000_000, Description: "browser test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.PayInvoice(ctx, inv.Invoice); err != nil {
		t.Fatalf("pay the shop from the browser-made connection: %v", err)
	}
	if _, err := io.WriteString(stdin, "PAID\n"); err != nil {
		t.Fatal(err)
	}
	var before, after int64
	if _, err := fmt.Sscan(next("USED"), &before, &after); err != nil || after-before != 2_000_000 {
		t.Fatalf("budget bar %d -> %d, want it to move by the 2000 sat paid", before, after)
	}

	// The NWA page approved an app: its info event names the app and the wallet key shown.
	walletKey := next("NWA")
	select {
	case ev := <-infoSub.Events():
		if ev.PubKey.String() != walletKey {
			t.Fatalf("info event by %s, the page showed %s", ev.PubKey, walletKey)
		}
	case <-ctx.Done():
		t.Fatal("no info event for the app approved in the browser")
	}

	next("REVOKED")
	stdin.Close()
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser script: %v\n%s", err, stderr.String())
	}
	finished = true

	// Revoked in the browser: the app gets no answer at all.
	// Five seconds: an answer, when there is one, takes milliseconds here.
	short, cancelShort := context.WithTimeout(ctx, 5*time.Second)
	defer cancelShort()
	if err := app.Call(short, nip47.MethodGetBalance, nil, nil); !errors.Is(err, client.ErrTimeout) {
		t.Fatalf("get_balance after revocation: %v, want no answer (timeout)", err)
	}
	t.Logf("screenshots in %s", artifacts)
}

// dial connects to a connection made in the test itself, whose info event the service
// announces in the background: until it is there, Dial finds none and is tried again.
func dial(t *testing.T, ctx context.Context, uri string) *client.Client {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := client.Dial(ctx, uri, client.WithTimeout(20*time.Second))
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if !errors.Is(err, client.ErrNoInfo) || time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", uri, err)
		}
	}
}
