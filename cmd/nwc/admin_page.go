package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/nwc-go/nwc/internal/server"
)

// printAdminFirstRun tells, on the run that created the admin token, where the admin page
// is and where its token lives (and shows the token this once).
func printAdminFirstRun(w io.Writer, srv *server.Server, dir string) {
	if !srv.AdminTokenCreated || srv.AdminURL() == "" {
		return
	}
	fmt.Fprintf(w, "Admin page: %s/ (token in %s)\n", srv.AdminURL(), filepath.Join(dir, server.AdminTokenFile))
	fmt.Fprintf(w, "Admin token (shown once): %s\n", srv.AdminToken)
}
