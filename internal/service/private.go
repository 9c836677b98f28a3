package service

import (
	"context"
	"sync"
	"time"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// privateLog is a store whose request log this process alone serves from (SQLite, see
// sqlite.Store.ClaimRequestLog). Read-only requests are then not recorded before they run:
// an in-memory set of recent ids stops repeats, and the log row is written after the
// answer, with the next group commit. On a store other instances share (PostgreSQL) every
// request is recorded first, since the record is what makes one instance answer.
type privateLog interface {
	ClaimRequestLog() error
	RecordRequestLater(ctx context.Context, r wallet.Request) error
	// RevocationMark changes whenever any process revokes a connection.
	RevocationMark() (uint64, error)
}

// readOnly methods change nothing: a second answer to a repeat costs only the answer.
func readOnly(m nip47.Method) bool {
	switch m {
	case nip47.MethodGetInfo, nip47.MethodGetBalance, nip47.MethodGetBudget, nip47.MethodLookupInvoice,
		nip47.MethodListTransactions, nip47.MethodSignMessage:
		return true
	}
	return false
}

// unrecorded reports whether a read-only request may run before (without) a store write:
// the store is private, and no connection was revoked since the in-memory connections
// were loaded (else the store's check at the insert must see it: a revocation by another
// process takes effect at once). A relay replaying a read-only request after a restart
// gets it answered again (harmless; NIP-47 requests are ephemeral events that relays do
// not keep).
func (s *Service) unrecorded() bool {
	if s.private == nil {
		return false
	}
	m, err := s.private.RevocationMark()
	return err == nil && m+1 == s.revMark.Load()
}

// seenSet remembers the ids of recent read-only requests served without a store record,
// so that a copy from another relay, an overlapping resubscription or a reconnect is not
// answered twice. Two generations: the older is dropped when the newer is seenMax large
// or seenFor old, so an id is remembered for at least min(seenFor, seenMax requests).
type seenSet struct {
	mu       sync.Mutex
	cur, old map[nostr.EventID]struct{}
	since    time.Time // when cur began
}

const (
	seenFor = 10 * time.Minute
	seenMax = 1 << 17 // ≈ 6 MB for both generations when full
)

// add records id and reports whether it was new.
func (s *seenSet) add(id nostr.EventID, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.cur[id]; ok {
		return false
	}
	if _, ok := s.old[id]; ok {
		return false
	}
	if s.cur == nil || len(s.cur) >= seenMax || now.Sub(s.since) >= seenFor {
		s.old, s.cur, s.since = s.cur, make(map[nostr.EventID]struct{}), now
	}
	s.cur[id] = struct{}{}
	return true
}
