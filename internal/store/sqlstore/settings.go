package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/nwc-go/nwc/internal/wallet"
)

// GetSetting returns the value stored under key, or wallet.ErrNotFound.
func (s *Store) GetSetting(ctx context.Context, key string) (string, error) {
	row := s.pool().queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key)
	var v string
	if err := row.Scan(&v); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("%w: setting %q", wallet.ErrNotFound, key)
		}
		return "", s.d.errorf("get setting: %w", err)
	}
	return v, nil
}

// PutSetting stores value under key, replacing any previous value.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	if _, err := s.pool().exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return s.d.errorf("put setting: %w", err)
	}
	return nil
}
