package relay

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/nwc-go/nwc/nostr"
)

// walletSubs returns nsubs filters shaped like the wallet service's REQs,
// {"kinds":[23194],"#p":[perSub keys]}, parsed as a REQ is, and their keys.
func walletSubs(tb testing.TB, nsubs, perSub int) ([]*filter, [][]string) {
	filters := make([]*filter, nsubs)
	keys := make([][]string, nsubs)
	for i := range filters {
		keys[i] = make([]string, perSub)
		for j := range keys[i] {
			var k [32]byte
			rand.Read(k[:])
			keys[i][j] = hex.EncodeToString(k[:])
		}
		f, err := parseFilter([]byte(`{"kinds":[23194],"#p":["` + strings.Join(keys[i], `","`) + `"]}`))
		if err != nil {
			tb.Fatal(err)
		}
		filters[i] = f
	}
	return filters, keys
}

func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// indexHeapPerValue files one subscription per filter in a fresh index and returns the
// live heap the index holds per indexed tag value, then the heap still held once every
// subscription is removed again. The filters exist before and after: they are the REQ's,
// not the index's.
func indexHeapPerValue(tb testing.TB, filters []*filter) (perValue float64, leftover int64) {
	values := 0
	for _, f := range filters {
		values += len(f.tags[0].values)
	}
	subs := make([]*subscription, len(filters))
	for i, f := range filters {
		subs[i] = newSubscription(nil, "s", []*filter{f})
	}
	before := liveHeap()
	ix := newSubIndex()
	for _, s := range subs {
		ix.add(s)
	}
	filled := liveHeap()
	for _, s := range subs {
		ix.remove(s)
	}
	if n := ix.len(); n != 0 {
		tb.Fatalf("%d subscriptions left after removing all", n)
	}
	emptied := liveHeap()
	runtime.KeepAlive(ix)
	runtime.KeepAlive(subs)
	return float64(filled-before) / float64(values), emptied - before
}

// subIndexShapes are the wallet service's subscription patterns: REQs of 500 #p keys
// each, and one key per connection; both index 100,000 values.
var subIndexShapes = []struct{ subs, values int }{{200, 500}, {100_000, 1}}

// BenchmarkSubIndexMemory reports the live heap the subscription index holds per indexed
// #p value (B/value), and what it still holds once every subscription is gone (B-left).
func BenchmarkSubIndexMemory(b *testing.B) {
	for _, sh := range subIndexShapes {
		b.Run(fmt.Sprintf("subs=%d/values=%d", sh.subs, sh.values), func(b *testing.B) {
			filters, _ := walletSubs(b, sh.subs, sh.values)
			var sum float64
			var left int64
			b.ResetTimer()
			for range b.N {
				per, l := indexHeapPerValue(b, filters)
				sum += per
				left += l
			}
			b.ReportMetric(sum/float64(b.N), "B/value")
			b.ReportMetric(float64(left)/float64(b.N), "B-left")
		})
	}
}

// BenchmarkSubIndexMatch measures finding the subscriptions of a live event among 100,000
// indexed #p values, where each event matches exactly one subscription.
func BenchmarkSubIndexMatch(b *testing.B) {
	for _, sh := range subIndexShapes {
		b.Run(fmt.Sprintf("subs=%d/values=%d", sh.subs, sh.values), func(b *testing.B) {
			filters, keys := walletSubs(b, sh.subs, sh.values)
			ix := newSubIndex()
			for _, f := range filters {
				ix.add(newSubscription(nil, "s", []*filter{f}))
			}
			evs := make([]*nostr.Event, 1024)
			for i := range evs {
				k := keys[(i*7919)%len(keys)]
				evs[i] = &nostr.Event{Kind: 23194, Tags: nostr.Tags{{"p", k[(i*7)%len(k)]}}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if got := ix.match(evs[i%len(evs)]); len(got) != 1 {
					b.Fatalf("matched %d subscriptions", len(got))
				}
			}
		})
	}
}
