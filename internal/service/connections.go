package service

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// encryptions this service speaks, in order of preference.
var encryptions = []nip47.Encryption{nip47.EncryptionNIP44, nip47.EncryptionNIP04}

// live is the service's compact copy of an active connection, which requests are served
// from (at 100,000 connections these copies are much of the service's memory: only what
// serving needs, lists shared between connections). A connection never changes after it
// is made except for its revocation and its last use: a revocation shows in the store's
// ConnectionsVersion (the next refresh drops the copy), and until then the store refuses
// to record the connection's requests, so a revocation by another process takes effect at
// once without a read per request.
type live struct {
	id        int64
	client    nostr.PublicKey
	keyIndex  uint32
	isolated  bool
	scopes    []wallet.Scope // shared
	notifs    []string       // shared
	budget    wallet.Budget  // renewal interned
	expiresAt int64          // unix seconds, 0 = never
	createdAt int64
	touched   atomic.Int64 // unix seconds of the last "last used" write this process made or loaded
}

// connection rebuilds the wallet.Connection (without name and metadata) for one use.
func (l *live) connection(service nostr.PublicKey) *wallet.Connection {
	c := &wallet.Connection{
		ID: l.id, ClientPubKey: l.client, ServicePubKey: service, KeyIndex: l.keyIndex,
		Scopes: l.scopes, NotificationTypes: l.notifs, Budget: l.budget, Isolated: l.isolated,
		CreatedAt: time.Unix(l.createdAt, 0).UTC(),
	}
	if l.expiresAt != 0 {
		c.ExpiresAt = time.Unix(l.expiresAt, 0).UTC()
	}
	if t := l.touched.Load(); t != 0 {
		c.LastUsedAt = time.Unix(t, 0).UTC()
	}
	return c
}

// pending is a connection waiting to be announced or deleted.
type pending struct {
	service nostr.PublicKey
	conn    *live
}

func (p pending) connection() *wallet.Connection { return p.conn.connection(p.service) }

// refresh reloads the connections from the store when its ConnectionsVersion moved. New
// ones are announced with their info event; revoked ones are deleted from the relays. It
// reports whether the set of service keys changed (the subscription must follow).
func (s *Service) refresh(ctx context.Context) (bool, error) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	// The mark is read first: a revocation after this read moves it again, and read-only
	// requests are recorded first (checked) until the next refresh.
	var mark uint64
	markOK := false
	if s.private != nil {
		m, err := s.private.RevocationMark()
		mark, markOK = m, err == nil
	}
	version, err := s.cfg.Store.ConnectionsVersion(ctx)
	if err != nil {
		return false, err
	}
	s.mu.RLock()
	same := version == s.version
	s.mu.RUnlock()
	loaded := func() {
		if markOK {
			s.revMark.Store(mark + 1)
		}
	}
	if same {
		loaded()
		return false, nil
	}
	if !s.memoryLoaded {
		fp := s.announceFingerprint()
		skip := s.loadAnnounced(ctx, fp)
		s.mu.Lock()
		s.fingerprint, s.skipUpTo, s.announcedHW = fp, skip, skip
		s.mu.Unlock()
		if skip > 0 {
			s.log.Info("info events already announced", "up_to_connection", skip)
		}
		s.memoryLoaded = true
	}
	list, err := s.cfg.Store.ListConnections(ctx)
	if err != nil {
		return false, err
	}
	s.mu.RLock()
	prev, skip := s.conns, s.skipUpTo
	s.mu.RUnlock()
	var (
		next    = make(map[nostr.PublicKey]*live, len(list))
		added   []pending
		newKeys bool
		shared  = newInterner()
	)
	for i := range list {
		c := &list[i]
		if c.Revoked() {
			continue
		}
		if old, ok := prev[c.ServicePubKey]; ok && old.id == c.ID {
			next[c.ServicePubKey] = old // unchanged: keep the copy (and its last touch)
			continue
		}
		l := shared.compact(c)
		next[c.ServicePubKey] = l
		newKeys = true
		if c.ID > skip {
			added = append(added, pending{c.ServicePubKey, l})
		}
	}
	var removed []pending
	for pk, c := range prev {
		if _, ok := next[pk]; !ok {
			removed = append(removed, pending{pk, c})
		}
	}
	s.mu.Lock()
	s.conns = next
	s.version = version
	s.skipUpTo = 0 // only the first load: connections seen later are always announced
	for i := range list {
		s.maxSeenID = max(s.maxSeenID, list[i].ID)
	}
	for _, p := range added {
		s.unannounced[p.conn.id] = struct{}{}
	}
	s.added = append(s.added, added...)
	s.removed = append(s.removed, removed...)
	s.mu.Unlock()
	loaded()
	changed := newKeys || len(removed) > 0
	if changed {
		s.keysVersion.Add(1)
	}
	return changed, nil
}

// interner shares the scope and notification lists and renewal strings that most
// connections have in common; compact keeps what serving needs.
type interner struct {
	scopes map[string][]wallet.Scope
	notifs map[string][]string
}

func newInterner() *interner {
	return &interner{scopes: make(map[string][]wallet.Scope), notifs: make(map[string][]string)}
}

func (in *interner) compact(c *wallet.Connection) *live {
	l := &live{
		id: c.ID, client: c.ClientPubKey, keyIndex: c.KeyIndex, isolated: c.Isolated,
		scopes: intern(in.scopes, c.Scopes), notifs: intern(in.notifs, c.NotificationTypes),
		budget: c.Budget, createdAt: c.CreatedAt.Unix(),
	}
	l.budget.Renewal = wallet.Renewal(internString(string(c.Budget.Renewal)))
	if !c.ExpiresAt.IsZero() {
		l.expiresAt = c.ExpiresAt.Unix()
	}
	if !c.LastUsedAt.IsZero() {
		l.touched.Store(c.LastUsedAt.Unix())
	}
	return l
}

// intern returns the shared copy of list (joined as the map key).
func intern[T ~string](m map[string][]T, list []T) []T {
	if len(list) == 0 {
		return nil
	}
	var b strings.Builder
	for _, v := range list {
		b.WriteString(string(v))
		b.WriteByte(0)
	}
	if got, ok := m[b.String()]; ok {
		return got
	}
	cp := make([]T, len(list))
	for i, v := range list {
		cp[i] = T(internString(string(v)))
	}
	m[b.String()] = cp
	return cp
}

// internString returns the process-wide copy of a short, often repeated string (scope
// names, renewal periods): the store hands each row its own.
func internString(v string) string { return unique.Make(v).Value() }

// announcePending publishes info events for added connections and deletions for removed
// ones, a few at a time, in the background (a relay round trip each).
func (s *Service) announcePending(ctx context.Context) {
	s.mu.Lock()
	added, removed := s.added, s.removed
	s.added, s.removed = nil, nil
	s.mu.Unlock()
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	s.wg.Add(1)
	s.announcing.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.announcing.Done()
		sem := make(chan struct{}, 8)
		var wg sync.WaitGroup
		// run skips the rest once ctx ends: at shutdown, 100,000 pending announcements
		// would otherwise each be derived and signed only to fail.
		run := func(f func()) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if ctx.Err() != nil {
				<-sem
				return
			}
			wg.Add(1)
			go func() { defer func() { <-sem; wg.Done() }(); f() }()
		}
		for _, p := range added {
			run(func() {
				if s.publishInfo(ctx, p.connection()) {
					s.mu.Lock()
					delete(s.unannounced, p.conn.id)
					s.mu.Unlock()
				}
			})
		}
		for _, p := range removed {
			run(func() { s.publishDeletion(ctx, p.connection()) })
		}
		wg.Wait()
		if len(added) > 0 {
			s.saveAnnounced(context.WithoutCancel(ctx))
		}
		if len(added)+len(removed) >= bigAnnouncement && ctx.Err() == nil {
			// Announcing every connection at start-up (signing, encoding, the embedded
			// relay storing each event) leaves the heap at twice what stays live, and
			// the runtime keeps those pages until its scavenger gets to them: give them
			// back now that the burst is over.
			debug.FreeOSMemory()
		}
	}()
}

// bigAnnouncement is the burst after which announcePending returns memory to the system.
const bigAnnouncement = 10_000

// InfoEvent builds the 13194 event of a connection: its own methods, both encryptions,
// its notification types, and a p tag naming the app (NWA draft).
func (s *Service) InfoEvent(c *wallet.Connection) (*nostr.Event, error) {
	client := c.ClientPubKey
	return nip47.InfoEvent(s.cfg.Keys.Derive(c.KeyIndex), s.methodsFor(c), s.notificationsFor(c), encryptions, &client, s.now())
}

// publishInfo reports whether a relay accepted the info event.
func (s *Service) publishInfo(ctx context.Context, c *wallet.Connection) bool {
	ev, err := s.InfoEvent(c)
	if err != nil {
		s.log.Error("build info event", "conn", c.ID, "err", err)
		return false
	}
	return s.publish(ctx, ev, s.log.With("conn", c.ID)) == nil
}

// publishDeletion asks relays to forget a revoked connection's info event: a kind 5 with
// its replaceable address (NIP-09 "a" tag), which covers every version of it. (No "e" tag:
// remembering each connection's info event id cost ~50 bytes per connection.)
func (s *Service) publishDeletion(ctx context.Context, c *wallet.Connection) {
	key := s.cfg.Keys.Derive(c.KeyIndex)
	ev := &nostr.Event{CreatedAt: s.now().Unix(), Kind: nostr.KindDeletion, Content: "connection revoked"}
	ev.Tags = append(ev.Tags,
		nostr.Tag{"a", fmt.Sprintf("%d:%s:", nip47.KindInfo, key.Public())},
		nostr.Tag{"k", fmt.Sprint(nip47.KindInfo)})
	if err := ev.Sign(key); err != nil {
		s.log.Error("sign deletion", "conn", c.ID, "err", err)
		return
	}
	s.publish(ctx, ev, s.log.With("conn", c.ID))
}
