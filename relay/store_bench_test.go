package relay

import (
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// infoEventJSON returns the wire JSON of n signed kind-13194 events shaped like the ones
// the wallet service publishes, one per connection, each by its own key. Signing is slow,
// so the set is built once per test binary run and shared.
var infoEventJSON = sync.OnceValue(func() [][]byte {
	const n = 20_000
	content := strings.Join([]string{
		"pay_invoice", "multi_pay_invoice", "pay_keysend", "multi_pay_keysend", "make_invoice",
		"lookup_invoice", "list_transactions", "get_balance", "get_info", "notifications",
	}, " ")
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
			Content: content,
		}
		if err := ev.Sign(nostr.GenerateSecretKey()); err != nil {
			panic(err)
		}
		out[i] = ev.AppendJSON(nil)
	}
	return out
})

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
// (B/event), the figure that bounds a wallet service's memory per app connection.
func BenchmarkStoreMemory(b *testing.B) {
	lines := infoEventJSON()
	var sum float64
	b.ResetTimer()
	for range b.N {
		sum += liveHeapPerEvent(b, lines)
	}
	b.ReportMetric(sum/float64(b.N), "B/event")
}

// BenchmarkStoreQuery measures stored queries over the info events: the lookups a wallet's
// apps make (one author, one #p) and a broad kind query that returns a full page.
func BenchmarkStoreQuery(b *testing.B) {
	lines := infoEventJSON()
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
