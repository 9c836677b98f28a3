package relay

import (
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/maphash"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nwc-go/nwc/nostr"
)

// entry is one stored event in a compact form: a wallet with 100,000 connections keeps as
// many info events (13194), so the store holds neither a parsed *nostr.Event nor its wire
// JSON. The fixed fields are kept in binary (half the size of their hex) and the tags and
// content as the JSON text they have on the wire; appendJSON rebuilds the exact wire form.
// Replaceable events that repeat most of their body (the info events of one service differ
// only in their p tag) share that part (see shared). Everything but heapIdx is immutable
// once inserted, so a query can use entries after releasing the store lock. The struct is
// kept at 176 bytes, a size class: hence the uint16 kind and the expiration kept aside.
type entry struct {
	ID        nostr.EventID
	PubKey    nostr.PublicKey
	Sig       [64]byte
	CreatedAt int64
	seq       uint64 // insertion order, used to write the log back in order
	// body is the wire JSON from the tags array to the end of the content string:
	// `[["p","ab…"],…],"content":"…"`, with NIP-01 escaping (see nostr.AppendJSONString).
	// If sh is set, the body is sh.pre + body + sh.post.
	body      string
	sh        *shared
	Kind      uint16 // events come from nostr.Event.UnmarshalJSON: 0..65535
	hasExpiry bool   // NIP-40: the time is in store.expiring
	heapIdx   int32
}

// shared is the part of a body that several stored events have in common, held once: the
// array's start and the tags before the first tag with a one-byte name (pre), and the tags
// after the last one with the content (post). The tags between hold what tells the events
// apart (p, d, e…).
type shared struct {
	pre, post string
	key       uint64 // in store.shared
	refs      int    // entries using it; changed only under the store's write lock
}

// result is one event a query returns: the entry and its wire JSON.
type result struct {
	ev   *entry
	json []byte
}

const bodyContentSep = `],"content":`

// newEntry returns the compact form of ev.
func newEntry(ev *nostr.Event) *entry {
	n := len(bodyContentSep) + 2 + len(ev.Content)
	for _, t := range ev.Tags {
		n += 3
		for _, v := range t {
			n += len(v) + 3
		}
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, t := range ev.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for j, v := range t {
			if j > 0 {
				b = append(b, ',')
			}
			b = nostr.AppendJSONString(b, v)
		}
		b = append(b, ']')
	}
	b = append(b, bodyContentSep...)
	b = nostr.AppendJSONString(b, ev.Content)
	return &entry{
		ID:        ev.ID,
		PubKey:    ev.PubKey,
		Sig:       ev.Sig,
		CreatedAt: ev.CreatedAt,
		Kind:      uint16(ev.Kind),
		body:      string(b),
	}
}

// bodyLen is the length of e's whole body.
func (e *entry) bodyLen() int {
	if e.sh != nil {
		return len(e.sh.pre) + len(e.body) + len(e.sh.post)
	}
	return len(e.body)
}

// fullBody returns e's whole body, for the rare paths that decode it.
func (e *entry) fullBody() string {
	if e.sh != nil {
		return e.sh.pre + e.body + e.sh.post
	}
	return e.body
}

// jsonLen bounds the length of the wire JSON (created_at and kind may be shorter).
func (e *entry) jsonLen() int {
	return len(`{"id":"","pubkey":"","created_at":,"kind":,"tags":,"sig":""}`) + 64 + 64 + 20 + 5 + e.bodyLen() + 128
}

// appendJSON appends the wire JSON of e, byte for byte what nostr.Event.AppendJSON wrote.
func (e *entry) appendJSON(b []byte) []byte {
	b = nostr.AppendJSONHead(b, e.ID, e.PubKey, e.CreatedAt, int(e.Kind))
	if e.sh != nil {
		b = append(b, e.sh.pre...)
		b = append(b, e.body...)
		b = append(b, e.sh.post...)
	} else {
		b = append(b, e.body...)
	}
	return nostr.AppendJSONTail(b, &e.Sig)
}

// tagList decodes e's tags, for the rare paths that need them all (removing a deletion).
func (e *entry) tagList() nostr.Tags {
	var tags nostr.Tags
	// The body starts with the tags array; the decoder stops after it.
	if err := json.NewDecoder(strings.NewReader(e.fullBody())).Decode(&tags); err != nil {
		return nil // cannot happen: newEntry wrote it
	}
	return tags
}

// tags yields the raw (still JSON-escaped, unquoted) name and first value of every tag of
// e that has a value, in order.
func (e *entry) tags() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		if e.sh == nil {
			if len(e.body) > 0 && e.body[0] == '[' {
				tagRun(e.body[1:], yield)
			}
			return
		}
		_ = tagRun(e.sh.pre[1:], yield) && tagRun(e.body, yield) && tagRun(e.sh.post, yield)
	}
}

// rawTags yields the raw name and first value of each tag with at least one value in
// body, which starts with a JSON array of arrays of strings as nostr writes it (no
// whitespace). It stops at anything else.
func rawTags(body string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		if len(body) > 0 && body[0] == '[' {
			tagRun(body[1:], yield)
		}
	}
}

// tagRun yields the raw name and first value of each tag with at least one value in s, a
// run of tags as nostr writes them (`["a","b"],["c"]`), which may start with the comma
// that separates it from earlier tags. It stops at anything else and returns false if
// yield did.
func tagRun(s string, yield func(string, string) bool) bool {
	i := 0
	if i < len(s) && s[i] == ',' {
		i++
	}
	for i < len(s) && s[i] == '[' {
		name, value, n, end, ok := nextTag(s, i)
		if !ok {
			break
		}
		if n >= 2 && !yield(name, value) {
			return false
		}
		i = end
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
	return true
}

// nextTag reads the tag that starts at s[i], a '[': its raw name and first value, its
// number of elements and the index after it. ok is false if no well-formed tag is there.
func nextTag(s string, i int) (name, value string, n, end int, ok bool) {
	i++
	for i < len(s) && s[i] == '"' {
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++ // the escaped byte cannot end the string
			}
			j++
		}
		if j >= len(s) {
			return "", "", 0, 0, false
		}
		switch n {
		case 0:
			name = s[i+1 : j]
		case 1:
			value = s[i+1 : j]
		}
		n++
		i = j + 1
		if i+1 < len(s) && s[i] == ',' && s[i+1] == '"' {
			i++
		}
	}
	if i >= len(s) || s[i] != ']' {
		return "", "", 0, 0, false
	}
	return name, value, n, i + 1, true
}

// splitBody returns where the shareable parts of a whole body end and start: body[:a] is
// the array's start and the tags before the first tag with a one-byte name, body[b:] the
// tags after the last one and the content. Without such tags, a = b = 1.
func splitBody(body string) (a, b int) {
	a, b = 1, 1
	found := false
	for i := 1; i < len(body) && body[i] == '['; {
		name, _, n, end, ok := nextTag(body, i)
		if !ok {
			break
		}
		if n > 0 && isOneByte(name) {
			if !found {
				a, found = i, true
			}
			b = end
		}
		i = end
		if i < len(body) && body[i] == ',' {
			i++
		}
	}
	return a, b
}

// escaped returns s with NIP-01 escaping, without the quotes: the form rawTags yields,
// so that two strings are equal exactly when their raw forms are.
func escaped(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			b := nostr.AppendJSONString(nil, s)
			return string(b[1 : len(b)-1])
		}
	}
	return s
}

// isOneByte reports whether a raw string stands for a single byte: the tags NIP-01 indexes
// have one-letter names.
func isOneByte(raw string) bool {
	switch len(raw) {
	case 1:
		return true
	case 2:
		return raw[0] == '\\'
	case 6:
		return raw[0] == '\\' && raw[1] == 'u'
	}
	return false
}

// rawD is the raw d tag value that, with kind and author, names e's replaceable or
// addressable slot.
func (e *entry) rawD() string {
	if !nostr.IsAddressable(int(e.Kind)) {
		return ""
	}
	for name, value := range e.tags() {
		if name == "d" {
			return value
		}
	}
	return ""
}

func hasSlot(kind int) bool { return nostr.IsReplaceable(kind) || nostr.IsAddressable(kind) }

// index files stored events by key (id, slot, author, kind, tag); entrySet is what one
// key holds (see keyTable).
type (
	index    = keyTable[*entry]
	entrySet = keySet[*entry]
)

func newIndex() index { return index{} }

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
	seed        maphash.Seed // keys of the indexes: others cannot aim collisions at them
	seq         uint64
	n           int
	byID        index            // key: idKey
	bySlot      index            // key: slotKey; replaceable and addressable events
	byAuthor    index            // key: authorKey
	byKind      index            // key: the kind
	byTag       index            // key: tagKey; tags with a one-letter name
	expiring    map[*entry]int64 // entry -> its NIP-40 expiration
	regular     entryHeap        // oldest first, for eviction
	replaceable entryHeap
	maxRegular  int
	maxReplace  int
	// NIP-09 tombstones: deleted id / slot ("kind:pubkey:d") -> the deletion that covers it.
	tombIDs  map[nostr.EventID]*entry
	tombSlot map[string]*entry
	// Body parts of replaceable and addressable events (see shared), by sharedKey. An
	// event whose parts no other stored event has keeps them in its own body and is only
	// counted in seen, by the key's low 32 bits (9 bytes a map slot, so that unique parts
	// cost little); the next event with the same key creates the shared copy. A 32-bit
	// collision only makes a shared copy that a single event uses.
	shared map[uint64]*shared
	seen   map[uint32]int32
}

func newStore(maxRegular, maxReplaceable int) *store {
	return &store{
		seed:       maphash.MakeSeed(),
		byID:       newIndex(),
		bySlot:     newIndex(),
		byAuthor:   newIndex(),
		byKind:     newIndex(),
		byTag:      newIndex(),
		expiring:   make(map[*entry]int64),
		maxRegular: maxRegular,
		maxReplace: maxReplaceable,
		tombIDs:    make(map[nostr.EventID]*entry),
		tombSlot:   make(map[string]*entry),
		shared:     make(map[uint64]*shared),
		seen:       make(map[uint32]int32),
	}
}

func (s *store) idKey(id *nostr.EventID) uint64 { return maphash.Bytes(s.seed, id[:]) }

func (s *store) authorKey(pk *nostr.PublicKey) uint64 { return maphash.Bytes(s.seed, pk[:]) }

// tagKey hashes a raw tag name and value.
func (s *store) tagKey(name, value string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteByte(byte(len(name)))
	h.WriteString(name)
	h.WriteString(value)
	return h.Sum64()
}

// sharedKey hashes the shareable parts of a body.
func (s *store) sharedKey(pre, post string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(pre)))
	h.Write(n[:])
	h.WriteString(pre)
	h.WriteString(post)
	return h.Sum64()
}

// slotKey hashes a replaceable/addressable slot: kind, author and raw d value.
func (s *store) slotKey(kind uint16, pk *nostr.PublicKey, d string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], uint32(kind))
	h.Write(k[:])
	h.Write(pk[:])
	h.WriteString(d)
	return h.Sum64()
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
func newer(a, b *entry) bool {
	if a.CreatedAt != b.CreatedAt {
		return a.CreatedAt > b.CreatedAt
	}
	return bytes.Compare(a.ID[:], b.ID[:]) < 0
}

// add stores ev (already verified and not expired). The store keeps its own compact form
// of the event and rebuilds the wire JSON from it, so the caller's copy (the second
// argument) is not retained.
func (s *store) add(ev *nostr.Event, _ []byte) addResult {
	e := newEntry(ev) // outside the lock: it escapes the tags and content
	expires := expirationOf(ev)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byIDLookup(&ev.ID) != nil {
		return resDuplicate
	}
	if del, ok := s.tombIDs[ev.ID]; ok && del.PubKey == ev.PubKey {
		return resDeleted
	}
	if hasSlot(ev.Kind) {
		if len(s.tombSlot) > 0 {
			if del, ok := s.tombSlot[slotOf(ev)]; ok && del.CreatedAt >= ev.CreatedAt {
				return resDeleted
			}
		}
		if old := s.slotLookup(e.Kind, &e.PubKey, e.rawD()); old != nil {
			if newer(old, e) {
				return resHaveNewer
			}
			s.remove(old)
		}
	}
	s.seq++
	e.seq = s.seq
	s.insert(e, expires)
	if ev.Kind == nostr.KindDeletion {
		s.applyDeletion(e, ev)
	}
	for s.regular.Len() > s.maxRegular {
		s.remove(s.regular[0])
	}
	for s.replaceable.Len() > s.maxReplace {
		s.remove(s.replaceable[0])
	}
	return resAdded
}

func (s *store) byIDLookup(id *nostr.EventID) *entry {
	for e := range s.byID.get(s.idKey(id)).all {
		if e.ID == *id {
			return e
		}
	}
	return nil
}

func (s *store) slotLookup(kind uint16, pk *nostr.PublicKey, d string) *entry {
	for e := range s.bySlot.get(s.slotKey(kind, pk, d)).all {
		if e.Kind == kind && e.PubKey == *pk && e.rawD() == d {
			return e
		}
	}
	return nil
}

// insert files e, not yet visible to queries, with its NIP-40 expiration (0 = none).
func (s *store) insert(e *entry, expires int64) {
	if hasSlot(int(e.Kind)) {
		s.share(e)
	}
	s.n++
	s.byID.add(s.idKey(&e.ID), e)
	if hasSlot(int(e.Kind)) {
		s.bySlot.add(s.slotKey(e.Kind, &e.PubKey, e.rawD()), e)
		heap.Push(&s.replaceable, e)
	} else {
		heap.Push(&s.regular, e)
	}
	s.byAuthor.add(s.authorKey(&e.PubKey), e)
	s.byKind.add(uint64(e.Kind), e)
	for name, value := range e.tags() {
		if isOneByte(name) {
			s.byTag.add(s.tagKey(name, value), e)
		}
	}
	if expires > 0 {
		e.hasExpiry = true
		s.expiring[e] = expires
	}
}

// share makes e, not yet visible to queries, use the shared copy of the parts of its body
// that another stored event has too, if any.
func (s *store) share(e *entry) {
	a, b := splitBody(e.body)
	pre, post := e.body[:a], e.body[b:]
	k := s.sharedKey(pre, post)
	sh := s.shared[k]
	switch {
	case sh != nil && (sh.pre != pre || sh.post != post):
		sh = nil // another body with the same 64-bit key: keep this one whole
	case sh == nil && s.seen[uint32(k)] > 0:
		// One allocation for both parts, not tied to this event's body.
		both := pre + post
		sh = &shared{pre: both[:len(pre)], post: both[len(pre):], key: k}
		s.shared[k] = sh
	}
	if sh == nil {
		s.seen[uint32(k)]++
		return
	}
	sh.refs++
	e.sh = sh
	e.body = strings.Clone(e.body[a:b])
}

// unshare undoes share when e is removed: shared parts go with their last user. e.sh
// stays set, as queries may still be reading e.
func (s *store) unshare(e *entry) {
	if sh := e.sh; sh != nil {
		sh.refs--
		if sh.refs == 0 && s.shared[sh.key] == sh {
			delete(s.shared, sh.key)
		}
		return
	}
	a, b := splitBody(e.body)
	k := uint32(s.sharedKey(e.body[:a], e.body[b:]))
	if s.seen[k]--; s.seen[k] <= 0 {
		delete(s.seen, k)
	}
}

func (s *store) remove(e *entry) {
	if s.byIDLookup(&e.ID) != e {
		return
	}
	s.n--
	s.byID.remove(s.idKey(&e.ID), e)
	if hasSlot(int(e.Kind)) {
		s.bySlot.remove(s.slotKey(e.Kind, &e.PubKey, e.rawD()), e)
		heap.Remove(&s.replaceable, int(e.heapIdx))
		s.unshare(e)
	} else {
		heap.Remove(&s.regular, int(e.heapIdx))
	}
	s.byAuthor.remove(s.authorKey(&e.PubKey), e)
	s.byKind.remove(uint64(e.Kind), e)
	for name, value := range e.tags() {
		if isOneByte(name) {
			s.byTag.remove(s.tagKey(name, value), e)
		}
	}
	delete(s.expiring, e)
	if e.Kind == nostr.KindDeletion {
		ids, slots := deletionTargets(&nostr.Event{PubKey: e.PubKey, Tags: e.tagList()})
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

// applyDeletion removes what a kind 5 event (del, stored as e) references (same author
// only, never other deletions) and remembers it so the deleted events are refused if they
// come back.
func (s *store) applyDeletion(e *entry, del *nostr.Event) {
	ids, slots := deletionTargets(del)
	for _, id := range ids {
		if target := s.byIDLookup(&id); target != nil {
			if target.PubKey != e.PubKey || target.Kind == nostr.KindDeletion {
				continue
			}
			s.remove(target)
		}
		if prev, ok := s.tombIDs[id]; !ok || prev.PubKey != e.PubKey {
			s.tombIDs[id] = e
		}
	}
	for _, slot := range slots {
		if target := s.slotByName(slot); target != nil && target.CreatedAt <= e.CreatedAt {
			s.remove(target)
		}
		if prev, ok := s.tombSlot[slot]; !ok || prev.CreatedAt < e.CreatedAt {
			s.tombSlot[slot] = e
		}
	}
}

// slotByName finds the entry in a slot given as deletionTargets writes it.
func (s *store) slotByName(slot string) *entry {
	parts := strings.SplitN(slot, ":", 3)
	if len(parts) != 3 {
		return nil
	}
	kind, err := strconv.Atoi(parts[0])
	if err != nil || kind < 0 || kind > 0xffff {
		return nil
	}
	var pk nostr.PublicKey
	if _, err := hex.Decode(pk[:], []byte(parts[1])); err != nil {
		return nil
	}
	return s.slotLookup(uint16(kind), &pk, escaped(parts[2]))
}

// sweep drops expired events and returns how many.
func (s *store) sweep(now int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	for e, expires := range s.expiring {
		if expires <= now {
			s.remove(e)
			n++
		}
	}
	return n
}

// rawConds returns f's tag conditions in raw (escaped) form, to compare with the body;
// usually no value needs escaping and they are f's own.
func rawConds(f *filter) []tagCond {
	plain := true
	for _, c := range f.tags {
		plain = plain && escaped(c.name) == c.name
		for _, v := range c.values {
			plain = plain && escaped(v) == v
		}
	}
	if plain {
		return f.tags
	}
	out := make([]tagCond, len(f.tags))
	for i, c := range f.tags {
		out[i].name = escaped(c.name)
		out[i].values = make([]string, len(c.values))
		for j, v := range c.values {
			out[i].values[j] = escaped(v)
		}
	}
	return out
}

// matches is filter.matches for a stored entry; conds are rawConds(f).
func (e *entry) matches(f *filter, conds []tagCond) bool {
	if f.idsSet && !slices.Contains(f.ids, e.ID) {
		return false
	}
	if f.authorsSet && !slices.Contains(f.authors, e.PubKey) {
		return false
	}
	if f.kindsSet && !slices.Contains(f.kinds, int(e.Kind)) {
		return false
	}
	if f.hasSince && e.CreatedAt < f.since {
		return false
	}
	if f.hasUntil && e.CreatedAt > f.until {
		return false
	}
next:
	for _, c := range conds {
		for name, value := range e.tags() {
			if name == c.name && slices.Contains(c.values, value) {
				continue next
			}
		}
		return false
	}
	return true
}

// query returns the stored events matching any filter, newest first, each filter's result
// capped at its limit (at most maxLimit), expired events left out.
func (s *store) query(filters []*filter, now int64, maxLimit int) []result {
	var found []*entry
	s.mu.RLock()
	seen := make(map[*entry]struct{})
	for _, f := range filters {
		if f.limitZero {
			continue
		}
		limit := maxLimit
		if f.limit > 0 && f.limit < maxLimit {
			limit = f.limit
		}
		conds := rawConds(f)
		var matched []*entry
		s.candidates(f, conds, func(e *entry) {
			if (!e.hasExpiry || s.expiring[e] > now) && e.matches(f, conds) {
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
				found = append(found, e)
			}
		}
	}
	s.mu.RUnlock()
	if len(filters) > 1 {
		slices.SortFunc(found, newestFirst)
	}
	// The JSON is rebuilt after the lock is released (entries are immutable), in one
	// allocation for all the results.
	size := 0
	for _, e := range found {
		size += e.jsonLen()
	}
	buf := make([]byte, 0, size)
	out := make([]result, len(found))
	for i, e := range found {
		start := len(buf)
		buf = e.appendJSON(buf)
		out[i] = result{ev: e, json: buf[start:len(buf):len(buf)]}
	}
	return out
}

func newestFirst(a, b *entry) int {
	if c := cmp.Compare(b.CreatedAt, a.CreatedAt); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// candidates calls fn for a superset of the events f can match, using the smallest index.
func (s *store) candidates(f *filter, conds []tagCond, fn func(*entry)) {
	if f.idsSet {
		for _, id := range f.ids {
			if e := s.byIDLookup(&id); e != nil {
				fn(e)
			}
		}
		return
	}
	// Pick the index whose union is smallest; a set can appear twice (duplicate values in
	// the filter, or two values under one hashed key), the caller's seen check does not
	// cover that, so dedupe here.
	var best []entrySet
	bestN := -1
	consider := func(sets []entrySet) {
		n := 0
		for _, set := range sets {
			n += set.len()
		}
		if bestN < 0 || n < bestN {
			best, bestN = sets, n
		}
	}
	if f.authorsSet {
		sets := make([]entrySet, 0, len(f.authors))
		for _, pk := range f.authors {
			sets = append(sets, s.byAuthor.get(s.authorKey(&pk)))
		}
		consider(sets)
	}
	for _, c := range conds {
		if !isOneByte(c.name) {
			continue
		}
		sets := make([]entrySet, 0, len(c.values))
		for _, v := range c.values {
			sets = append(sets, s.byTag.get(s.tagKey(c.name, v)))
		}
		consider(sets)
	}
	if f.kindsSet {
		sets := make([]entrySet, 0, len(f.kinds))
		for _, k := range f.kinds {
			sets = append(sets, s.byKind.get(uint64(k)))
		}
		consider(sets)
	}
	if bestN < 0 {
		for e := range s.byID.all {
			fn(e)
		}
		return
	}
	if len(best) == 1 {
		for e := range best[0].all {
			fn(e)
		}
		return
	}
	visited := make(map[*entry]struct{}, bestN)
	for _, set := range best {
		for e := range set.all {
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
	out := make([]*entry, 0, s.n)
	for e := range s.byID.all {
		out = append(out, e)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

func (s *store) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n
}

// entryHeap orders entries oldest first (lowest created_at, then highest id, which is the
// one a replaceable tie-break would drop).
type entryHeap []*entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.CreatedAt != b.CreatedAt {
		return a.CreatedAt < b.CreatedAt
	}
	return bytes.Compare(a.ID[:], b.ID[:]) > 0
}
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = int32(i)
	h[j].heapIdx = int32(j)
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.heapIdx = int32(len(*h))
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
