package sqlite

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nwc-go/nwc/internal/filelock"
)

// ErrServedElsewhere: another process serves requests from this database. A SQLite
// database is served by one `nwc serve`; several instances share PostgreSQL.
var ErrServedElsewhere = errors.New("sqlite: another process serves requests from this database (run several instances on PostgreSQL)")

// private is what lets the one serving process keep its request log to itself (see
// ClaimRequestLog): the revocation mark every process bumps, and the serving lock.
type private struct {
	mu      sync.Mutex
	mark    *os.File // <db>.revocations: 8 bytes, little endian
	serving func() error
}

func (p *private) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	if p.serving != nil {
		errs = append(errs, p.serving())
		p.serving = nil
	}
	if p.mark != nil {
		errs = append(errs, p.mark.Close())
		p.mark = nil
	}
	return errors.Join(errs...)
}

func (p *private) markFile(path string) (*os.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mark == nil {
		f, err := os.OpenFile(path+".revocations", os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sqlite: revocation mark: %w", err)
		}
		p.mark = f
	}
	return p.mark, nil
}

func readMark(f *os.File) (uint64, error) {
	var b [8]byte
	n, err := f.ReadAt(b[:], 0)
	if n == len(b) {
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	if n == 0 && err != nil && errors.Is(err, io.EOF) {
		return 0, nil // never bumped
	}
	return 0, fmt.Errorf("sqlite: revocation mark: short read (%d bytes): %v", n, err)
}

// RevocationMark is a number that changes whenever a connection of this database is
// revoked, by any process (one read of a small file beside the database). The service
// answers read-only requests from its in-memory copy of the connections without a store
// write first while the mark stays what it was when it loaded that copy; a revocation by
// `nwc connect revoke` in another process thus still takes effect at once.
func (s *Store) RevocationMark() (uint64, error) {
	f, err := s.priv.markFile(s.path)
	if err != nil {
		return 0, err
	}
	return readMark(f)
}

// RevokeConnection revokes the connection, then bumps the revocation mark.
func (s *Store) RevokeConnection(ctx context.Context, id int64, at time.Time) error {
	if err := s.Store.RevokeConnection(ctx, id, at); err != nil {
		return err
	}
	if err := s.bumpMark(); err != nil {
		return fmt.Errorf("connection %d revoked, but a running service may answer its read-only requests until its next refresh (about a second): %w", id, err)
	}
	return nil
}

// bumpMark adds one to the mark under an exclusive lock of the file (processes may bump
// at the same time).
func (s *Store) bumpMark() error {
	f, err := s.priv.markFile(s.path)
	if err != nil {
		return err
	}
	unlock, err := filelock.Lock(f)
	if err != nil {
		return fmt.Errorf("sqlite: revocation mark: %w", err)
	}
	defer unlock()
	v, err := readMark(f)
	if err != nil {
		return err
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v+1)
	if _, err := f.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("sqlite: revocation mark: %w", err)
	}
	return nil
}

// ClaimRequestLog makes this store the only one serving requests from the database until
// Close: ErrServedElsewhere if another process (or another Store in this one) holds it.
// The serving process may then de-duplicate read-only requests in memory and log them
// after answering (RecordRequestLater), since no other process answers from this
// database. Claiming twice on one Store is a no-op.
func (s *Store) ClaimRequestLog() error {
	s.priv.mu.Lock()
	defer s.priv.mu.Unlock()
	if s.priv.serving != nil {
		return nil
	}
	release, err := filelock.TryLock(s.path+".serving", false)
	if errors.Is(err, filelock.ErrLocked) {
		return fmt.Errorf("%w: %s", ErrServedElsewhere, s.path)
	}
	if err != nil {
		return fmt.Errorf("sqlite: serving lock: %w", err)
	}
	s.priv.serving = release
	return nil
}
