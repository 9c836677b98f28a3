//go:build !unix

package sandbox

// lockLedger is a no-op where flock is not available: one process per ledger file.
func lockLedger(string, bool) (func(), error) { return func() {}, nil }
