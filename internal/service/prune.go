package service

import (
	"context"
	"time"
)

// DefaultRequestLogRetention is how long request-log rows are kept by default. The log
// grows with every request (a busy wallet answers millions a day) and is read only for
// recent activity; exactly-once needs a row only while its request could still run.
const DefaultRequestLogRetention = 30 * 24 * time.Hour

const (
	pruneEvery = time.Hour
	pruneFirst = time.Minute // after start: not during start-up's burst
	pruneBatch = 5000        // rows per transaction: a short hold of SQLite's one writer
	prunePause = 50 * time.Millisecond
)

// pruneLoop deletes request-log rows older than RequestLogRetention, hourly.
func (s *Service) pruneLoop(ctx context.Context) {
	if s.cfg.RequestLogRetention < 0 {
		return
	}
	t := time.NewTimer(pruneFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.PruneRequestLog(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("prune request log", "err", err, "pruned", n)
			}
		} else if n > 0 {
			s.log.Info("pruned request log", "rows", n, "retention", s.cfg.RequestLogRetention.String())
		}
		t.Reset(pruneEvery)
	}
}

// PruneRequestLog deletes the request-log rows older than RequestLogRetention, in batches
// with pauses between them so requests keep getting the store's writer, and returns how
// many went. It does nothing when retention is off (negative).
func (s *Service) PruneRequestLog(ctx context.Context) (int64, error) {
	if s.cfg.RequestLogRetention < 0 {
		return 0, nil
	}
	before := s.now().Add(-s.cfg.RequestLogRetention)
	var total int64
	for {
		n, err := s.cfg.Store.PruneRequests(ctx, before, pruneBatch)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(prunePause):
		}
	}
}
