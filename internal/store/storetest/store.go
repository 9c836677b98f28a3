// Package storetest is the conformance suite every store implementation
// (SQLite, PostgreSQL) must pass. It only uses the Store interface, so it
// knows nothing about the implementation under test.
package storetest

import "github.com/nwc-go/nwc/internal/store"

// Store is the full store API (declared in internal/store).
type Store = store.Store
