package relay

import (
	"encoding/json"
	"hash/maphash"
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
	entries []indexEntry // one per filter, filed in the index while subscribed
	prefix  []byte       // `["EVENT",<id>,`

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

// indexEntry is one filter of one subscription, filed under one or more index keys.
type indexEntry struct {
	sub *subscription
	f   *filter
}

// subTable files index entries by key. The wallet service subscribes with hundreds of #p
// keys per REQ, each wanted by that one subscription only: nearly every key has one entry
// (see keyTable); match checks every filter it finds in full.
type subTable = keyTable[*indexEntry]

// subIndex finds the subscriptions an event may match without looking at all of them:
// each filter is filed under its ids, else its first tag condition (#e, #p, ...), else its
// authors; only filters with none of these go to the scan list.
type subIndex struct {
	mu       sync.RWMutex
	seed     maphash.Seed // others cannot aim key collisions at one subscription
	byID     subTable     // key: bytesKey(id)
	byTag    subTable     // key: tagKey(name, value); one-letter tag names
	byAuthor subTable     // key: bytesKey(pubkey)
	scan     map[*indexEntry]struct{}
	peakScan int
	count    int
}

func newSubIndex() *subIndex {
	return &subIndex{seed: maphash.MakeSeed()}
}

func (ix *subIndex) bytesKey(b []byte) uint64 { return maphash.Bytes(ix.seed, b) }

// tagKey hashes a one-letter tag name and a value. Mixing the name in after hashing the
// value is cheaper than hashing both, and keys of different names still differ unless the
// seeded hashes happen to.
func (ix *subIndex) tagKey(name byte, value string) uint64 {
	return maphash.String(ix.seed, value) ^ uint64(name)*0x9e3779b97f4a7c15
}

func (ix *subIndex) add(s *subscription) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	// One allocation for all the entries: most REQs have a single filter.
	s.entries = make([]indexEntry, len(s.filters))
	for i, f := range s.filters {
		s.entries[i] = indexEntry{sub: s, f: f}
		ix.file(&s.entries[i], true)
	}
	ix.count++
}

func (ix *subIndex) remove(s *subscription) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i := range s.entries {
		ix.file(&s.entries[i], false)
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
	op := (*subTable).remove
	if add {
		op = (*subTable).add
	}
	f := ie.f
	switch {
	case f.idsSet:
		for i := range f.ids {
			op(&ix.byID, ix.bytesKey(f.ids[i][:]), ie)
		}
		return
	case f.kindsSet && len(f.kinds) == 0:
		return
	}
	for _, c := range f.tags {
		if len(c.name) == 1 {
			for _, v := range c.values {
				op(&ix.byTag, ix.tagKey(c.name[0], v), ie)
			}
			return
		}
	}
	if f.authorsSet {
		for i := range f.authors {
			op(&ix.byAuthor, ix.bytesKey(f.authors[i][:]), ie)
		}
		return
	}
	if add {
		if ix.scan == nil {
			ix.scan = make(map[*indexEntry]struct{})
		}
		ix.scan[ie] = struct{}{}
		ix.peakScan = max(ix.peakScan, len(ix.scan))
	} else {
		delete(ix.scan, ie)
		ix.scan = shrink(ix.scan, &ix.peakScan)
	}
}

// matcher collects the subscriptions with a filter matching one event, each once.
type matcher struct {
	ev   *nostr.Event
	out  []*subscription
	seen map[*subscription]struct{}
}

func (m *matcher) consider(ie *indexEntry) {
	if !ie.f.matches(m.ev) {
		return
	}
	// Linear check while small; a map once many subscriptions match.
	if m.seen == nil {
		for _, s := range m.out {
			if s == ie.sub {
				return
			}
		}
		m.out = append(m.out, ie.sub)
		if len(m.out) > 16 {
			m.seen = make(map[*subscription]struct{}, 2*len(m.out))
			for _, s := range m.out {
				m.seen[s] = struct{}{}
			}
		}
		return
	}
	if _, dup := m.seen[ie.sub]; !dup {
		m.seen[ie.sub] = struct{}{}
		m.out = append(m.out, ie.sub)
	}
}

func (m *matcher) visit(t *subTable, k uint64) {
	if ie, ok := t.one[k]; ok {
		m.consider(ie)
		return
	}
	for ie := range t.many[k] {
		m.consider(ie)
	}
}

// match returns the subscriptions with at least one filter matching ev, each once.
func (ix *subIndex) match(ev *nostr.Event) []*subscription {
	m := matcher{ev: ev}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.byID.len() > 0 {
		m.visit(&ix.byID, ix.bytesKey(ev.ID[:]))
	}
	if ix.byAuthor.len() > 0 {
		m.visit(&ix.byAuthor, ix.bytesKey(ev.PubKey[:]))
	}
	if ix.byTag.len() > 0 {
		for _, t := range ev.Tags {
			if len(t) >= 2 && len(t[0]) == 1 {
				m.visit(&ix.byTag, ix.tagKey(t[0][0], t[1]))
			}
		}
	}
	for ie := range ix.scan {
		m.consider(ie)
	}
	return m.out
}
