package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nwc-go/nwc/internal/keyring"
	"github.com/nwc-go/nwc/internal/server"
	"github.com/nwc-go/nwc/internal/store"
)

// defaultDataDir is $NWC_DATA_DIR, else ~/.nwc.
func defaultDataDir() string {
	if d := os.Getenv("NWC_DATA_DIR"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".nwc")
	}
	return "nwc-data"
}

func dataDirFlag(fs *flag.FlagSet) *string {
	return fs.String("data-dir", defaultDataDir(), "directory for the database, keys and relay data (env NWC_DATA_DIR)")
}

// dbFlag is --db: a postgres:// URL shared by several `nwc serve` instances, else SQLite
// in the data dir.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", os.Getenv("NWC_DB"), "database: a postgres:// URL (several 'nwc serve' may share one); default SQLite in the data dir (env NWC_DB)")
}

// openWallet opens the store (db, see dbFlag) and keyring of a data dir, creating both on
// first use.
func openWallet(ctx context.Context, dir, db string) (store.Store, *keyring.Keyring, bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, false, fmt.Errorf("create data dir: %w", err)
	}
	keys, created, err := keyring.LoadOrCreate(filepath.Join(dir, server.MasterKeyFile))
	if err != nil {
		return nil, nil, false, err
	}
	st, err := server.OpenStore(ctx, dir, db)
	if err != nil {
		return nil, nil, false, err
	}
	return st, keys, created, nil
}
