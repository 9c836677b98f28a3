package relay

// keyTable maps 64-bit keys to values, for the store's indexes (stored events) and the
// live subscriptions' (filters). Most keys — an id, an author, a #p value, a slot — have
// exactly one value: it is kept inline in the map's value, and a key gets a set only while
// it has two or more (a Go map per key would cost ~250 bytes). Keys are seeded hashes, so
// a key may cover other values than the one looked up: callers check what they get. The
// maps are made on first use and rebuilt smaller as they empty (see shrink).
type keyTable[V comparable] struct {
	one      map[uint64]V
	many     map[uint64]map[V]struct{}
	peakOne  int // largest len(one) since it was last rebuilt
	peakMany int
}

// keySet is the values filed under one key: one inline, or a set.
type keySet[V comparable] struct {
	one  V // the zero value: none
	many map[V]struct{}
}

func (s keySet[V]) len() int {
	var none V
	switch {
	case s.many != nil:
		return len(s.many)
	case s.one != none:
		return 1
	}
	return 0
}

func (s keySet[V]) all(yield func(V) bool) {
	var none V
	if s.one != none {
		yield(s.one)
		return
	}
	for v := range s.many {
		if !yield(v) {
			return
		}
	}
}

func (t *keyTable[V]) get(k uint64) keySet[V] {
	if set, ok := t.many[k]; ok {
		return keySet[V]{many: set}
	}
	return keySet[V]{one: t.one[k]}
}

// len is the number of keys.
func (t *keyTable[V]) len() int { return len(t.one) + len(t.many) }

func (t *keyTable[V]) add(k uint64, v V) {
	if set, ok := t.many[k]; ok {
		set[v] = struct{}{}
		return
	}
	// old == v when the same value is filed twice under k: once is enough.
	old, ok := t.one[k]
	switch {
	case !ok:
		t.setOne(k, v)
	case old != v:
		delete(t.one, k)
		if t.many == nil {
			t.many = make(map[uint64]map[V]struct{})
		}
		t.many[k] = map[V]struct{}{old: {}, v: {}}
		t.peakMany = max(t.peakMany, len(t.many))
	}
}

func (t *keyTable[V]) setOne(k uint64, v V) {
	if t.one == nil { // first use, or emptied and released by shrink
		t.one = make(map[uint64]V)
	}
	t.one[k] = v
	t.peakOne = max(t.peakOne, len(t.one))
}

func (t *keyTable[V]) remove(k uint64, v V) {
	if set, ok := t.many[k]; ok {
		delete(set, v)
		if len(set) == 1 {
			delete(t.many, k)
			for last := range set {
				t.setOne(k, last)
			}
			t.many = shrink(t.many, &t.peakMany)
		}
		return
	}
	if old, ok := t.one[k]; ok && old == v {
		delete(t.one, k)
		t.one = shrink(t.one, &t.peakOne)
	}
}

// all yields every value once per key it is filed under.
func (t *keyTable[V]) all(yield func(V) bool) {
	for _, v := range t.one {
		if !yield(v) {
			return
		}
	}
	for _, set := range t.many {
		for v := range set {
			if !yield(v) {
				return
			}
		}
	}
}

// smallMap is the size up to which a Go map is a single group: nothing to give back.
const smallMap = 8

// shrink returns m rebuilt to its size once it has fallen to a quarter of its peak, or nil
// once empty: Go maps never give memory back, and a wallet's connections may all go at
// once. Rebuilding costs one copy per three removals, amortised.
func shrink[K comparable, V any](m map[K]V, peak *int) map[K]V {
	if len(m) == 0 {
		*peak = 0
		return nil
	}
	if *peak <= smallMap || len(m) > *peak/4 {
		return m
	}
	*peak = len(m)
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
