package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/server/servertest"
)

// TestFaucetCreditsIsolatedConnection runs a real service in-process and credits one
// isolated connection through `nwc faucet`, as a user would.
func TestFaucetCreditsIsolatedConnection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	srv := servertest.Start(t, server.Options{DataDir: dir, AdminListen: "127.0.0.1:0"})
	c, _, err := server.NewConnection(ctx, srv.Store, srv.Keys, server.ConnectionOptions{Name: "shop", Isolated: true, Relays: srv.RelayURLs})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"faucet", "--data-dir", dir, "--connection", "1", "--amount", "5000sat"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Credited 5000sat to connection 1") {
		t.Fatalf("output %q", out.String())
	}
	bal, err := srv.Store.IsolatedBalance(ctx, c.ID)
	if err != nil || bal != 5_000_000 {
		t.Fatalf("isolated balance %d (%v), want 5000000 msat", bal, err)
	}
	// An unknown connection is refused with a clear error.
	errOut.Reset()
	if code := run(ctx, []string{"faucet", "--data-dir", dir, "--connection", "42"}, &out, &errOut); code != 1 || errOut.Len() == 0 {
		t.Fatalf("unknown connection: exit %d, stderr %q", code, errOut.String())
	}
}
