package relay

import (
	"encoding/json"
	"sync"

	"github.com/nwc-go/nwc/nostr"
)

// maxPending bounds the live events buffered for a subscription while its stored query
// runs; overflowing it means the client cannot keep up and is dropped.
const maxPending = 4096

// subscription is one REQ of one connection.
type subscription struct {
	c       *conn
	id      string
	filters []*filter
	entries []*indexEntry
	prefix  []byte // `["EVENT",<id>,`

	mu      sync.Mutex
	live    bool     // EOSE sent: deliver directly
	closed  bool     // replaced or CLOSEd: deliver nothing
	pending [][]byte // events fanned out before EOSE, with their ids below
	pendIDs []nostr.EventID
}

func newSubscription(c *conn, id string, filters []*filter) *subscription {
	quoted, _ := json.Marshal(id)
	prefix := make([]byte, 0, len(quoted)+12)
	prefix = append(prefix, `["EVENT",`...)
	prefix = append(prefix, quoted...)
	prefix = append(prefix, ',')
	return &subscription{c: c, id: id, filters: filters, prefix: prefix}
}

func (s *subscription) eventMessage(evJSON []byte) []byte {
	msg := make([]byte, 0, len(s.prefix)+len(evJSON)+1)
	msg = append(msg, s.prefix...)
	msg = append(msg, evJSON...)
	return append(msg, ']')
}

// deliver sends a live event, or buffers it until EOSE. It never blocks on the network.
func (s *subscription) deliver(ev *nostr.Event, evJSON []byte) bool {
	msg := s.eventMessage(evJSON)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return false
	case !s.live:
		if len(s.pending) >= maxPending {
			s.c.drop("too many events buffered before EOSE")
			return false
		}
		s.pending = append(s.pending, msg)
		s.pendIDs = append(s.pendIDs, ev.ID)
		return true
	}
	if !s.c.q.push(msg, s.c.queueLimit) {
		s.c.drop("outgoing queue full")
		return false
	}
	return true
}

// goLive flushes the events buffered during the stored query, skipping those the query
// already returned, and switches to direct delivery.
func (s *subscription) goLive(sent map[nostr.EventID]struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, msg := range s.pending {
		if _, dup := sent[s.pendIDs[i]]; dup {
			continue
		}
		if !s.c.q.push(msg, s.c.queueLimit) {
			s.c.drop("outgoing queue full")
			break
		}
	}
	s.pending, s.pendIDs = nil, nil
	s.live = true
}

func (s *subscription) close() {
	s.mu.Lock()
	s.closed = true
	s.pending, s.pendIDs = nil, nil
	s.mu.Unlock()
}

// tagKey is a one-letter tag name and a value.
type tagKey struct {
	name  byte
	value string
}

// indexEntry is one filter of one subscription, filed under one index key.
type indexEntry struct {
	sub *subscription
	f   *filter
}

type entrySetOf = map[*indexEntry]struct{}

// subIndex finds the subscriptions an event may match without looking at all of them:
// each filter is filed under its ids, else its first tag condition (#e, #p, ...), else its
// authors; only filters with none of these go to the scan list.
type subIndex struct {
	mu       sync.RWMutex
	byID     map[nostr.EventID]entrySetOf
	byTag    map[tagKey]entrySetOf
	byAuthor map[nostr.PublicKey]entrySetOf
	scan     entrySetOf
	count    int
}

func newSubIndex() *subIndex {
	return &subIndex{
		byID:     make(map[nostr.EventID]entrySetOf),
		byTag:    make(map[tagKey]entrySetOf),
		byAuthor: make(map[nostr.PublicKey]entrySetOf),
		scan:     make(entrySetOf),
	}
}

func (ix *subIndex) add(s *subscription) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, f := range s.filters {
		ie := &indexEntry{sub: s, f: f}
		s.entries = append(s.entries, ie)
		ix.file(ie, true)
	}
	ix.count++
}

func (ix *subIndex) remove(s *subscription) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, ie := range s.entries {
		ix.file(ie, false)
	}
	s.entries = nil
	ix.count--
}

func (ix *subIndex) len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.count
}

// file adds or removes ie under the keys its filter is indexed by. A filter with an empty
// ids/authors/tag list matches nothing and is not filed at all.
func (ix *subIndex) file(ie *indexEntry, add bool) {
	f := ie.f
	switch {
	case f.idsSet:
		for _, id := range f.ids {
			setOp(ix.byID, id, ie, add)
		}
		return
	case f.kindsSet && len(f.kinds) == 0:
		return
	}
	for _, c := range f.tags {
		if len(c.name) == 1 {
			for _, v := range c.values {
				setOp(ix.byTag, tagKey{c.name[0], v}, ie, add)
			}
			return
		}
	}
	if f.authorsSet {
		for _, pk := range f.authors {
			setOp(ix.byAuthor, pk, ie, add)
		}
		return
	}
	if add {
		ix.scan[ie] = struct{}{}
	} else {
		delete(ix.scan, ie)
	}
}

func setOp[K comparable](m map[K]entrySetOf, k K, ie *indexEntry, add bool) {
	set, ok := m[k]
	if add {
		if !ok {
			set = make(entrySetOf, 1)
			m[k] = set
		}
		set[ie] = struct{}{}
		return
	}
	if ok {
		delete(set, ie)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// match returns the subscriptions with at least one filter matching ev, each once.
func (ix *subIndex) match(ev *nostr.Event) []*subscription {
	var out []*subscription
	var seen map[*subscription]struct{}
	visit := func(set entrySetOf) {
		for ie := range set {
			if !ie.f.matches(ev) {
				continue
			}
			// Linear check while small; a map once many subscriptions match.
			if seen == nil {
				dup := false
				for _, s := range out {
					if s == ie.sub {
						dup = true
						break
					}
				}
				if dup {
					continue
				}
				out = append(out, ie.sub)
				if len(out) > 16 {
					seen = make(map[*subscription]struct{}, 2*len(out))
					for _, s := range out {
						seen[s] = struct{}{}
					}
				}
				continue
			}
			if _, dup := seen[ie.sub]; !dup {
				seen[ie.sub] = struct{}{}
				out = append(out, ie.sub)
			}
		}
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if len(ix.byID) > 0 {
		visit(ix.byID[ev.ID])
	}
	if len(ix.byAuthor) > 0 {
		visit(ix.byAuthor[ev.PubKey])
	}
	if len(ix.byTag) > 0 {
		for _, t := range ev.Tags {
			if len(t) >= 2 && len(t[0]) == 1 {
				visit(ix.byTag[tagKey{t[0][0], t[1]}])
			}
		}
	}
	visit(ix.scan)
	return out
}
