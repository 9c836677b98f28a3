// Package pgtest gives tests a fresh, empty PostgreSQL schema on the server
// named by $NWC_TEST_POSTGRES (scripts/postgres.sh starts one), and skips
// them when it is not set.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the server tests use, e.g.
// postgres://postgres@127.0.0.1:5432/nwc_test?sslmode=disable.
const EnvVar = "NWC_TEST_POSTGRES"

// URL creates a schema of its own for t and returns a URL whose search_path
// selects it; the schema is dropped when t ends. Without $NWC_TEST_POSTGRES
// the test is skipped.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skip(EnvVar + " is not set (scripts/postgres.sh start prints it)")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s does not parse as a URL", EnvVar)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "nwc_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
