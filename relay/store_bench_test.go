package relay

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// infoContents are the method lists of the info events, by how much they repeat: a
// service gives most connections the same list (shared), a few (few: 4 lists), or, the
// worst case for sharing, each its own (unique: the list with the connection's number).
var infoContents = map[string]func(i int) string{
	"shared-content": func(int) string { return infoMethods },
	"few-contents":   func(i int) string { return infoMethodLists[i%len(infoMethodLists)] },
	"unique-content": func(i int) string { return infoMethods + " c" + strconv.Itoa(100_000+i) },
}

var infoMethods = strings.Join([]string{
	"pay_invoice", "multi_pay_invoice", "pay_keysend", "multi_pay_keysend", "make_invoice",
	"lookup_invoice", "list_transactions", "get_balance", "get_info", "notifications",
}, " ")

var infoMethodLists = []string{
	infoMethods,
	"pay_invoice make_invoice lookup_invoice list_transactions get_balance get_info notifications",
	"make_invoice lookup_invoice list_transactions get_balance get_info notifications",
	"get_balance get_info",
}

// infoEventJSON returns the wire JSON of n signed kind-13194 events shaped like the ones
// the wallet service publishes (nip47.InfoEvent), one per connection, each by its own key,
// with the contents of infoContents[name]. Signing is slow, so each set is built once per
// test binary run and shared.
func infoEventJSON(name string) [][]byte {
	infoSetsMu.Lock()
	defer infoSetsMu.Unlock()
	if set, ok := infoSets[name]; ok {
		return set
	}
	const n = 20_000
	out := make([][]byte, n)
	for i := range n {
		ev := &nostr.Event{
			CreatedAt: 1_700_000_000 + int64(i),
			Kind:      13194,
			Tags: nostr.Tags{
				{"encryption", "nip44_v2 nip04"},
				{"notifications", "payment_received payment_sent"},
				{"p", nostr.GenerateSecretKey().Public().String()},
			},
			Content: infoContents[name](i),
		}
		if err := ev.Sign(nostr.GenerateSecretKey()); err != nil {
			panic(err)
		}
		out[i] = ev.AppendJSON(nil)
	}
	infoSets[name] = out
	return out
}

var (
	infoSetsMu sync.Mutex
	infoSets   = make(map[string][][]byte)
)

// liveHeapPerEvent stores every event of lines in a fresh store through the path a
// published event takes (parse, re-encode, add) and returns the live heap it holds per
// event. Only what the store keeps counts: the parse garbage is collected first.
func liveHeapPerEvent(tb testing.TB, lines [][]byte) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st := newStore(len(lines), len(lines))
	for _, line := range lines {
		ev := new(nostr.Event)
		if err := ev.UnmarshalJSON(line); err != nil {
			tb.Fatal(err)
		}
		if st.add(ev, append([]byte(nil), ev.AppendJSON(nil)...)) != resAdded {
			tb.Fatal("event not added")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if st.len() != len(lines) {
		tb.Fatalf("stored %d events, want %d", st.len(), len(lines))
	}
	runtime.KeepAlive(st)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(len(lines))
}

// BenchmarkStoreMemory reports the live heap the store holds per stored info event
// (B/event), the figure that bounds a wallet service's memory per app connection, for
// contents that repeat as they do in a service and for unique ones.
func BenchmarkStoreMemory(b *testing.B) {
	for _, name := range []string{"shared-content", "few-contents", "unique-content"} {
		b.Run(name, func(b *testing.B) {
			lines := infoEventJSON(name)
			var sum float64
			b.ResetTimer()
			for range b.N {
				sum += liveHeapPerEvent(b, lines)
			}
			b.ReportMetric(sum/float64(b.N), "B/event")
		})
	}
}

// BenchmarkStoreQuery measures stored queries over the info events: the lookups a wallet's
// apps make (one author, one #p) and a broad kind query that returns a full page.
func BenchmarkStoreQuery(b *testing.B) {
	lines := infoEventJSON("shared-content")
	st := newStore(len(lines), len(lines))
	evs := make([]*nostr.Event, len(lines))
	for i, line := range lines {
		evs[i] = new(nostr.Event)
		if err := evs[i].UnmarshalJSON(line); err != nil {
			b.Fatal(err)
		}
		st.add(evs[i], evs[i].AppendJSON(nil))
	}
	pick := func(i int) *nostr.Event { return evs[(i*7919)%len(evs)] }
	tests := []struct {
		name   string
		filter func(i int) string
		want   int
	}{
		{"author", func(i int) string {
			return `{"kinds":[13194],"authors":["` + pick(i).PubKey.String() + `"]}`
		}, 1},
		{"p-tag", func(i int) string {
			return `{"kinds":[13194],"#p":["` + pick(i).Tags.Value("p") + `"]}`
		}, 1},
		{"id", func(i int) string { return `{"ids":["` + pick(i).ID.String() + `"]}` }, 1},
		{"kind-page", func(int) string { return `{"kinds":[13194],"limit":500}` }, 500},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			filters := make([][]*filter, 64)
			for i := range filters {
				f, err := parseFilter([]byte(tt.filter(i)))
				if err != nil {
					b.Fatal(err)
				}
				filters[i] = []*filter{f}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if got := st.query(filters[i%len(filters)], 0, 500); len(got) != tt.want {
					b.Fatalf("got %d events, want %d", len(got), tt.want)
				}
			}
		})
	}
}
