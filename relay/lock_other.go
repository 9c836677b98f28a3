//go:build !unix

package relay

// lockDir is a no-op where flock is not available: run one relay per data directory.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
