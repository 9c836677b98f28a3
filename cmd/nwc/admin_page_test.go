package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/internal/server"
)

// TestAdminPageFirstRun: the run that creates the admin token says where the page and the
// token are, once; later runs do not repeat it.
func TestAdminPageFirstRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for i, want := range []bool{true, false} {
		srv, err := server.Open(ctx, server.Options{DataDir: dir, RelayListen: "127.0.0.1:0", AdminListen: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		printAdminFirstRun(&out, srv, dir)
		srv.Close()
		line := "Admin page: " + srv.AdminURL() + "/ (token in " + filepath.Join(dir, server.AdminTokenFile) + ")"
		if got := strings.Contains(out.String(), line) && strings.Contains(out.String(), srv.AdminToken); got != want {
			t.Fatalf("run %d: printed %q, want the admin page line: %v", i+1, out.String(), want)
		}
	}
}
