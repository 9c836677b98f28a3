package relay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/nwc-go/nwc/nostr"
)

// BenchmarkRelayFanout measures the wallet-service pattern over real WebSockets: 100
// subscribers, each with its own {"kinds":[23194],"#p":[key]} filter, and one publisher
// whose every event matches exactly one subscriber. window is how many events the
// publisher may have in flight (sent, OK not yet received): 1 shows unloaded latency,
// 64 saturates the relay. Reports events/s delivered and p50/p99 publish→receive latency.
func BenchmarkRelayFanout(b *testing.B) {
	for _, window := range []int{1, 64} {
		b.Run(fmt.Sprintf("subs=100/window=%d", window), func(b *testing.B) { benchFanout(b, 100, window) })
	}
}

func benchFanout(b *testing.B, nsubs, window int) {
	_, url := startRelay(b, Config{EventsPerSecond: -1})
	keys := make([]string, nsubs)
	subs := make([]*testClient, nsubs)
	for i := range nsubs {
		var k [32]byte
		rand.Read(k[:])
		keys[i] = hex.EncodeToString(k[:])
		subs[i] = dial(b, url)
		subs[i].req("s", `{"kinds":[23194],"#p":["`+keys[i]+`"]}`)
	}
	pub := dial(b, url)

	// Signing is the client's cost, not the relay's: do it before the clock starts.
	sk := nostr.GenerateSecretKey()
	content := strings.Repeat("Q", 300) + "?iv=" + strings.Repeat("A", 24) // NIP-04-sized payload
	msgs := make([][]byte, b.N)
	index := make(map[string]int, b.N)
	perSub := make([]int, nsubs)
	now := time.Now().Unix()
	for i := range b.N {
		ev := signed(b, sk, 23194, now, nostr.Tags{{"p", keys[i%nsubs]}}, content+strconv.Itoa(i)) // unique ids
		msgs[i] = append(append([]byte(`["EVENT",`), ev.AppendJSON(nil)...), ']')
		index[ev.ID.String()] = i
		perSub[i%nsubs]++
	}
	sentAt := make([]atomic.Int64, b.N)
	latency := make([]time.Duration, b.N)

	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, nsubs+2)
	idKey := []byte(`"id":"`)
	for i, c := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perSub[i] {
				_, data, err := c.ws.Read(ctx)
				if err != nil {
					errs <- err
					return
				}
				at := time.Now()
				j := bytes.Index(data, idKey)
				if j < 0 || len(data) < j+6+64 {
					errs <- fmt.Errorf("unexpected message %.80s", data)
					return
				}
				k, ok := index[string(data[j+6:j+6+64])]
				if !ok {
					errs <- fmt.Errorf("unknown event")
					return
				}
				latency[k] = at.Sub(time.Unix(0, sentAt[k].Load()))
			}
		}()
	}
	inflight := make(chan struct{}, window)
	wg.Add(1)
	go func() { // reads the publisher's OKs and opens the window
		defer wg.Done()
		for range b.N {
			_, data, err := pub.ws.Read(ctx)
			if err != nil || !bytes.Contains(data, []byte(`,true,`)) {
				errs <- fmt.Errorf("publish: %v %s", err, data)
				return
			}
			<-inflight
		}
	}()

	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		select {
		case inflight <- struct{}{}:
		case err := <-errs:
			b.Fatal(err)
		}
		sentAt[i].Store(time.Now().UnixNano())
		if err := pub.ws.Write(ctx, websocket.MessageText, msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	slices.Sort(latency)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(latency[len(latency)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(latency[len(latency)*99/100].Microseconds()), "p99-µs")
}
