//go:build !unix

package sqlite

import "os"

// lockFile is a no-op where flock is not available: serve one process per database.
func lockFile(*os.File, bool) (func(), error) { return func() {}, nil }
