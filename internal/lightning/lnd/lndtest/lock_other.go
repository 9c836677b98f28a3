//go:build !unix

package lndtest

import "testing"

// Lock is a no-op where flock is missing: run the regtest packages with -p 1 there.
func (e *Env) Lock(t testing.TB) {}
