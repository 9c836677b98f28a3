package relay

import (
	"bytes"
	"cmp"
	"container/heap"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nwc-go/nwc/nostr"
)

// entry is one stored event. Everything but heapIdx is immutable once inserted, so a query
// can use entries after releasing the store lock.
type entry struct {
	ev      *nostr.Event
	json    []byte // wire JSON, shared by every delivery
	slot    string // "kind:pubkey:d" for replaceable ("d" empty) and addressable kinds, "" otherwise
	expires int64  // NIP-40 expiration, 0 = never
	seq     uint64 // insertion order, used to write the log back in order
	heapIdx int
}

type tagKey struct {
	name  byte
	value string
}

type entrySet map[*entry]struct{}

type addResult int

const (
	resAdded     addResult = iota
	resDuplicate           // same id already stored
	resHaveNewer           // a newer event occupies the replaceable/addressable slot
	resDeleted             // its author deleted it (NIP-09) before it arrived
)

// store holds events in memory with indexes for queries. Regular and replaceable events
// have separate caps so a flood of regular events cannot push out an info event (13194).
type store struct {
	mu          sync.RWMutex
	seq         uint64
	byID        map[nostr.EventID]*entry
	bySlot      map[string]*entry
	byAuthor    map[nostr.PublicKey]entrySet
	byKind      map[int]entrySet
	byTag       map[tagKey]entrySet
	expiring    entrySet
	regular     entryHeap // oldest first, for eviction
	replaceable entryHeap
	maxRegular  int
	maxReplace  int
	// NIP-09 tombstones: deleted id / slot -> the deletion that covers it.
	tombIDs  map[nostr.EventID]*entry
	tombSlot map[string]*entry
}

func newStore(maxRegular, maxReplaceable int) *store {
	return &store{
		byID:       make(map[nostr.EventID]*entry),
		bySlot:     make(map[string]*entry),
		byAuthor:   make(map[nostr.PublicKey]entrySet),
		byKind:     make(map[int]entrySet),
		byTag:      make(map[tagKey]entrySet),
		expiring:   make(entrySet),
		maxRegular: maxRegular,
		maxReplace: maxReplaceable,
		tombIDs:    make(map[nostr.EventID]*entry),
		tombSlot:   make(map[string]*entry),
	}
}

// isStored reports whether the relay keeps events of this kind at all.
func isStored(kind int) bool { return !nostr.IsEphemeral(kind) }

// slotOf returns the replaceable/addressable slot of e, or "".
func slotOf(e *nostr.Event) string {
	var d string
	switch {
	case nostr.IsReplaceable(e.Kind):
	case nostr.IsAddressable(e.Kind):
		d = e.Tags.Value("d")
	default:
		return ""
	}
	return strconv.Itoa(e.Kind) + ":" + e.PubKey.String() + ":" + d
}

// expirationOf returns the NIP-40 expiration, 0 if absent or unreadable.
func expirationOf(e *nostr.Event) int64 {
	v := e.Tags.Value("expiration")
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// newer reports whether a should be kept over b in a replaceable slot: newest created_at,
// ties broken by the lowest id.
func newer(a, b *nostr.Event) bool {
	if a.CreatedAt != b.CreatedAt {
		return a.CreatedAt > b.CreatedAt
	}
	return bytes.Compare(a.ID[:], b.ID[:]) < 0
}

// add stores ev (already verified and not expired). evJSON is its wire form.
func (s *store) add(ev *nostr.Event, evJSON []byte) addResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[ev.ID]; ok {
		return resDuplicate
	}
	if del, ok := s.tombIDs[ev.ID]; ok && del.ev.PubKey == ev.PubKey {
		return resDeleted
	}
	slot := slotOf(ev)
	if slot != "" {
		if del, ok := s.tombSlot[slot]; ok && del.ev.CreatedAt >= ev.CreatedAt {
			return resDeleted
		}
		if old, ok := s.bySlot[slot]; ok {
			if newer(old.ev, ev) {
				return resHaveNewer
			}
			s.remove(old)
		}
	}
	s.seq++
	e := &entry{ev: ev, json: evJSON, slot: slot, expires: expirationOf(ev), seq: s.seq}
	s.insert(e)
	if ev.Kind == nostr.KindDeletion {
		s.applyDeletion(e)
	}
	for s.regular.Len() > s.maxRegular {
		s.remove(s.regular[0])
	}
	for s.replaceable.Len() > s.maxReplace {
		s.remove(s.replaceable[0])
	}
	return resAdded
}

func (s *store) insert(e *entry) {
	ev := e.ev
	s.byID[ev.ID] = e
	if e.slot != "" {
		s.bySlot[e.slot] = e
		heap.Push(&s.replaceable, e)
	} else {
		heap.Push(&s.regular, e)
	}
	addTo(s.byAuthor, ev.PubKey, e)
	addTo(s.byKind, ev.Kind, e)
	for _, t := range ev.Tags {
		if len(t) >= 2 && len(t[0]) == 1 {
			addTo(s.byTag, tagKey{t[0][0], t[1]}, e)
		}
	}
	if e.expires > 0 {
		s.expiring[e] = struct{}{}
	}
}

func (s *store) remove(e *entry) {
	ev := e.ev
	if s.byID[ev.ID] != e {
		return
	}
	delete(s.byID, ev.ID)
	if e.slot != "" {
		if s.bySlot[e.slot] == e {
			delete(s.bySlot, e.slot)
		}
		heap.Remove(&s.replaceable, e.heapIdx)
	} else {
		heap.Remove(&s.regular, e.heapIdx)
	}
	removeFrom(s.byAuthor, ev.PubKey, e)
	removeFrom(s.byKind, ev.Kind, e)
	for _, t := range ev.Tags {
		if len(t) >= 2 && len(t[0]) == 1 {
			removeFrom(s.byTag, tagKey{t[0][0], t[1]}, e)
		}
	}
	delete(s.expiring, e)
	if ev.Kind == nostr.KindDeletion {
		ids, slots := deletionTargets(ev)
		for _, id := range ids {
			if s.tombIDs[id] == e {
				delete(s.tombIDs, id)
			}
		}
		for _, slot := range slots {
			if s.tombSlot[slot] == e {
				delete(s.tombSlot, slot)
			}
		}
	}
}

// deletionTargets lists what a kind 5 event may delete: ids from "e" tags and, from "a"
// tags, the slots of the same author's replaceable/addressable events.
func deletionTargets(del *nostr.Event) (ids []nostr.EventID, slots []string) {
	authorHex := del.PubKey.String()
	for _, t := range del.Tags {
		if len(t) < 2 {
			continue
		}
		switch t[0] {
		case "e":
			if id, err := nostr.ParseEventID(t[1]); err == nil {
				ids = append(ids, id)
			}
		case "a":
			parts := strings.SplitN(t[1], ":", 3)
			if len(parts) != 3 || parts[1] != authorHex {
				continue
			}
			kind, err := strconv.Atoi(parts[0])
			if err != nil || !(nostr.IsReplaceable(kind) || nostr.IsAddressable(kind)) {
				continue
			}
			d := parts[2]
			if nostr.IsReplaceable(kind) {
				d = ""
			}
			slots = append(slots, strconv.Itoa(kind)+":"+authorHex+":"+d)
		}
	}
	return ids, slots
}

// applyDeletion removes what a kind 5 event references (same author only, never other
// deletions) and remembers it so the deleted events are refused if they come back.
func (s *store) applyDeletion(del *entry) {
	ids, slots := deletionTargets(del.ev)
	for _, id := range ids {
		if target, ok := s.byID[id]; ok {
			if target.ev.PubKey != del.ev.PubKey || target.ev.Kind == nostr.KindDeletion {
				continue
			}
			s.remove(target)
		}
		if prev, ok := s.tombIDs[id]; !ok || prev.ev.PubKey != del.ev.PubKey {
			s.tombIDs[id] = del
		}
	}
	for _, slot := range slots {
		if target, ok := s.bySlot[slot]; ok && target.ev.CreatedAt <= del.ev.CreatedAt {
			s.remove(target)
		}
		if prev, ok := s.tombSlot[slot]; !ok || prev.ev.CreatedAt < del.ev.CreatedAt {
			s.tombSlot[slot] = del
		}
	}
}

// sweep drops expired events and returns how many.
func (s *store) sweep(now int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	for e := range s.expiring {
		if e.expires <= now {
			s.remove(e)
			n++
		}
	}
	return n
}

// query returns the stored events matching any filter, newest first, each filter's result
// capped at its limit (at most maxLimit), expired events left out.
func (s *store) query(filters []*filter, now int64, maxLimit int) []*entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*entry
	seen := make(map[*entry]struct{})
	for _, f := range filters {
		if f.limitZero {
			continue
		}
		limit := maxLimit
		if f.limit > 0 && f.limit < maxLimit {
			limit = f.limit
		}
		var matched []*entry
		s.candidates(f, func(e *entry) {
			if (e.expires == 0 || e.expires > now) && f.matches(e.ev) {
				matched = append(matched, e)
			}
		})
		slices.SortFunc(matched, newestFirst)
		if len(matched) > limit {
			matched = matched[:limit]
		}
		for _, e := range matched {
			if _, dup := seen[e]; !dup {
				seen[e] = struct{}{}
				out = append(out, e)
			}
		}
	}
	if len(filters) > 1 {
		slices.SortFunc(out, newestFirst)
	}
	return out
}

func newestFirst(a, b *entry) int {
	if c := cmp.Compare(b.ev.CreatedAt, a.ev.CreatedAt); c != 0 {
		return c
	}
	return bytes.Compare(a.ev.ID[:], b.ev.ID[:])
}

// candidates calls fn for a superset of the events f can match, using the smallest index.
func (s *store) candidates(f *filter, fn func(*entry)) {
	if f.idsSet {
		for _, id := range f.ids {
			if e, ok := s.byID[id]; ok {
				fn(e)
			}
		}
		return
	}
	// Pick the index whose union is smallest; a set can appear twice (duplicate values in
	// the filter), the caller's seen check does not cover that, so dedupe here.
	var best []entrySet
	bestN := -1
	consider := func(sets []entrySet) {
		n := 0
		for _, set := range sets {
			n += len(set)
		}
		if bestN < 0 || n < bestN {
			best, bestN = sets, n
		}
	}
	if f.authorsSet {
		sets := make([]entrySet, 0, len(f.authors))
		for _, pk := range f.authors {
			sets = append(sets, s.byAuthor[pk])
		}
		consider(sets)
	}
	for _, c := range f.tags {
		if len(c.name) != 1 {
			continue
		}
		sets := make([]entrySet, 0, len(c.values))
		for _, v := range c.values {
			sets = append(sets, s.byTag[tagKey{c.name[0], v}])
		}
		consider(sets)
	}
	if f.kindsSet {
		sets := make([]entrySet, 0, len(f.kinds))
		for _, k := range f.kinds {
			sets = append(sets, s.byKind[k])
		}
		consider(sets)
	}
	if bestN < 0 {
		for _, e := range s.byID {
			fn(e)
		}
		return
	}
	if len(best) == 1 {
		for e := range best[0] {
			fn(e)
		}
		return
	}
	visited := make(map[*entry]struct{}, bestN)
	for _, set := range best {
		for e := range set {
			if _, ok := visited[e]; !ok {
				visited[e] = struct{}{}
				fn(e)
			}
		}
	}
}

// snapshot returns every stored entry in insertion order (for compaction).
func (s *store) snapshot() []*entry {
	s.mu.RLock()
	out := make([]*entry, 0, len(s.byID))
	for _, e := range s.byID {
		out = append(out, e)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func (s *store) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}

func addTo[K comparable](m map[K]entrySet, k K, e *entry) {
	set, ok := m[k]
	if !ok {
		set = make(entrySet, 1)
		m[k] = set
	}
	set[e] = struct{}{}
}

func removeFrom[K comparable](m map[K]entrySet, k K, e *entry) {
	if set, ok := m[k]; ok {
		delete(set, e)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// entryHeap orders entries oldest first (lowest created_at, then highest id, which is the
// one a replaceable tie-break would drop).
type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	a, b := h[i].ev, h[j].ev
	if a.CreatedAt != b.CreatedAt {
		return a.CreatedAt < b.CreatedAt
	}
	return bytes.Compare(a.ID[:], b.ID[:]) > 0
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.heapIdx = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.heapIdx = -1
	return e
}
