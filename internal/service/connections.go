package service

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/nwc-go/nwc/internal/wallet"
	"github.com/nwc-go/nwc/nip47"
	"github.com/nwc-go/nwc/nostr"
)

// encryptions this service speaks, in order of preference.
var encryptions = []nip47.Encryption{nip47.EncryptionNIP44, nip47.EncryptionNIP04}

// refresh reloads the connections from the store. New ones are announced with their info
// event; revoked ones are deleted from the relays. It reports whether the set of service
// keys changed (the subscription must follow).
func (s *Service) refresh(ctx context.Context) (bool, error) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	list, err := s.cfg.Store.ListConnections(ctx)
	if err != nil {
		return false, err
	}
	next := make(map[nostr.PublicKey]*wallet.Connection, len(list))
	for i := range list {
		if !list[i].Revoked() {
			next[list[i].ServicePubKey] = &list[i]
		}
	}
	s.mu.Lock()
	prev := s.conns
	s.conns = next
	s.mu.Unlock()

	var added, removed []*wallet.Connection
	for pk, c := range next {
		if old, ok := prev[pk]; !ok || !sameAnnouncement(old, c) {
			added = append(added, c)
		}
	}
	for pk, c := range prev {
		if _, ok := next[pk]; !ok {
			removed = append(removed, c)
		}
	}
	s.mu.Lock()
	s.added = append(s.added, added...)
	s.removed = append(s.removed, removed...)
	s.mu.Unlock()
	changed := len(next) != len(prev)
	if !changed {
		for pk := range next {
			if _, ok := prev[pk]; !ok {
				changed = true
				break
			}
		}
	}
	if changed {
		s.keysVersion.Add(1)
	}
	return changed, nil
}

// sameAnnouncement reports whether two versions of a connection publish the same info event.
func sameAnnouncement(a, b *wallet.Connection) bool {
	// Compared for every connection on every refresh: no formatting.
	return slices.Equal(a.Scopes, b.Scopes) && slices.Equal(a.NotificationTypes, b.NotificationTypes)
}

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
	go func() {
		defer s.wg.Done()
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
		for _, c := range added {
			run(func() { s.publishInfo(ctx, c) })
		}
		for _, c := range removed {
			run(func() { s.publishDeletion(ctx, c) })
		}
		wg.Wait()
	}()
}

// InfoEvent builds the 13194 event of a connection: its own methods, both encryptions,
// its notification types, and a p tag naming the app (NWA draft).
func (s *Service) InfoEvent(c *wallet.Connection) (*nostr.Event, error) {
	client := c.ClientPubKey
	return nip47.InfoEvent(s.cfg.Keys.Derive(c.KeyIndex), s.methodsFor(c), s.notificationsFor(c), encryptions, &client, s.now())
}

func (s *Service) publishInfo(ctx context.Context, c *wallet.Connection) {
	ev, err := s.InfoEvent(c)
	if err != nil {
		s.log.Error("build info event", "conn", c.ID, "err", err)
		return
	}
	s.mu.Lock()
	s.info[c.ID] = ev.ID
	s.mu.Unlock()
	s.publish(ctx, ev, s.log.With("conn", c.ID))
}

// publishDeletion asks relays to forget a revoked connection's info event (kind 5 with the
// event id when known and the replaceable address otherwise).
func (s *Service) publishDeletion(ctx context.Context, c *wallet.Connection) {
	key := s.cfg.Keys.Derive(c.KeyIndex)
	ev := &nostr.Event{CreatedAt: s.now().Unix(), Kind: nostr.KindDeletion, Content: "connection revoked"}
	s.mu.Lock()
	id, ok := s.info[c.ID]
	delete(s.info, c.ID)
	s.mu.Unlock()
	if ok {
		ev.Tags = append(ev.Tags, nostr.Tag{"e", id.String()})
	}
	ev.Tags = append(ev.Tags,
		nostr.Tag{"a", fmt.Sprintf("%d:%s:", nip47.KindInfo, key.Public())},
		nostr.Tag{"k", fmt.Sprint(nip47.KindInfo)})
	if err := ev.Sign(key); err != nil {
		s.log.Error("sign deletion", "conn", c.ID, "err", err)
		return
	}
	s.publish(ctx, ev, s.log.With("conn", c.ID))
}
