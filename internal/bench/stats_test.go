package bench

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/nwc-go/nwc/nip47"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	values := []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 123_456, 1 << 40, math.MaxInt64, math.MaxUint64}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		values = append(values, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range values {
		b := bucketOf(v)
		if b < 0 || b >= maxBuckets {
			t.Fatalf("bucketOf(%d) = %d, outside [0,%d)", v, b, maxBuckets)
		}
		lo, hi := bucketRange(b)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d whose range is [%d,%d]", v, b, lo, hi)
		}
		if v >= subCount && float64(hi-lo)/float64(lo) > 1.0/halfCount {
			t.Fatalf("bucket %d [%d,%d] wider than 1/%d of its values", b, lo, hi, halfCount)
		}
	}
	// Buckets are contiguous and increasing.
	for b := 1; b < maxBuckets; b++ {
		_, prevHi := bucketRange(b - 1)
		lo, _ := bucketRange(b)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", b, lo, prevHi)
		}
	}
}

func TestQuantilesMatchExactWithinOnePercent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tests := []struct {
		name string
		gen  func(i int) time.Duration
		n    int
	}{
		{"single", func(int) time.Duration { return 3 * time.Millisecond }, 1},
		{"constant", func(int) time.Duration { return 1500 * time.Microsecond }, 1000},
		{"uniform 1-20ms", func(int) time.Duration {
			return time.Millisecond + time.Duration(rng.Int64N(int64(19*time.Millisecond)))
		}, 50_000},
		{"exponential", func(int) time.Duration { return time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond)) }, 50_000},
		{"long tail", func(i int) time.Duration {
			if i%100 == 0 {
				return time.Second + time.Duration(i)*time.Microsecond
			}
			return 2*time.Millisecond + time.Duration(i%7)*time.Microsecond
		}, 20_000},
		{"tiny values", func(i int) time.Duration { return time.Duration(i % 200) }, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistogram()
			samples := make([]time.Duration, tc.n)
			for i := range samples {
				samples[i] = tc.gen(i)
				h.Record(samples[i])
			}
			for _, q := range []float64{0, 0.01, 0.5, 0.9, 0.99, 0.999, 1} {
				got, want := h.Quantile(q), ExactQuantile(samples, q)
				if diff := math.Abs(float64(got - want)); diff > float64(want)/100+1 {
					t.Errorf("q%.3f = %v, exact %v (off by %.2f%%)", q, got, want, 100*diff/float64(want))
				}
			}
			if h.Count() != uint64(tc.n) {
				t.Errorf("count %d, want %d", h.Count(), tc.n)
			}
			if want := ExactQuantile(samples, 1); h.Max() != want {
				t.Errorf("max %v, want %v (exact)", h.Max(), want)
			}
			if want := ExactQuantile(samples, 0); h.Min() != want {
				t.Errorf("min %v, want %v (exact)", h.Min(), want)
			}
		})
	}
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatalf("empty histogram: q50 %v mean %v max %v, want zeros", h.Quantile(0.5), h.Mean(), h.Max())
	}
	h.Record(-5 * time.Millisecond)
	if h.Count() != 1 || h.Max() != 0 || h.Quantile(1) != 0 {
		t.Fatalf("negative sample: count %d max %v, want 1 and 0", h.Count(), h.Max())
	}
}

func TestHistogramMergeEqualsRecordingEverything(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 10_000 {
		d := time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(b)
	a.Merge(NewHistogram()) // merging nothing changes nothing
	for _, q := range []float64{0.5, 0.9, 0.99, 1} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("q%v: merged %v, direct %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if a.Count() != all.Count() || a.Mean() != all.Mean() || a.Min() != all.Min() || a.Max() != all.Max() {
		t.Errorf("merged count/mean/min/max %d/%v/%v/%v, direct %d/%v/%v/%v",
			a.Count(), a.Mean(), a.Min(), a.Max(), all.Count(), all.Mean(), all.Min(), all.Max())
	}
}

func TestRecorderReportAndSnapshots(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	r := NewRecorder(start)
	for i := range 100 {
		r.Sent()
		switch {
		case i < 90:
			r.Done("get_balance", "", time.Duration(i+1)*time.Millisecond, true)
		case i < 95:
			r.Done("pay_invoice", "INSUFFICIENT_BALANCE", 2*time.Millisecond, true)
		default:
			r.Done("pay_invoice", CodeTimeout, 0, false)
		}
	}
	p1 := r.Snapshot(start.Add(2*time.Second), Progress{})
	if p1.Sent != 100 || p1.OK != 90 || p1.Errors != 10 || p1.RateNow != 50 {
		t.Fatalf("snapshot %+v, want sent 100, ok 90, errors 10, 50/s", p1)
	}
	r.Done("get_balance", "", time.Millisecond, true)
	p2 := r.Snapshot(start.Add(3*time.Second), p1)
	if p2.RateNow != 1 {
		t.Fatalf("rate over the last second %v, want 1", p2.RateNow)
	}

	rep := r.Report(start.Add(4 * time.Second))
	if rep.OK != 91 || rep.Errors != 10 || rep.Sent != 100 {
		t.Fatalf("report ok %d errors %d sent %d", rep.OK, rep.Errors, rep.Sent)
	}
	if rep.Throughput != 25.3 { // 101 finished in 4 s, one decimal
		t.Errorf("throughput %v, want 25.3", rep.Throughput)
	}
	if rep.ErrorCodes["INSUFFICIENT_BALANCE"] != 5 || rep.ErrorCodes[CodeTimeout] != 5 || len(rep.ErrorCodes) != 2 {
		t.Errorf("errors by code %v", rep.ErrorCodes)
	}
	// Unanswered requests are not latencies: 91 + 5 answered.
	if rep.Latency.Count != 96 {
		t.Errorf("latency count %d, want 96", rep.Latency.Count)
	}
	if m := rep.Methods["pay_invoice"]; m.OK != 0 || m.Errors != 10 || m.Latencies.Count != 5 || m.Latencies.P50 != 2 {
		t.Errorf("pay_invoice %+v", m)
	}
	if m := rep.Methods["get_balance"]; m.OK != 91 || math.Abs(m.Latencies.P50-45) > 0.5 || math.Abs(m.Latencies.Max-90) > 1e-9 {
		t.Errorf("get_balance %+v, want p50 ≈ 45ms and max 90ms", m)
	}
}

func TestParseMix(t *testing.T) {
	tests := []struct {
		in    string
		want  string
		share float64 // of pay_invoice
		err   bool
	}{
		{in: "get_balance", want: "get_balance=1"},
		{in: "get_balance=8,make_invoice=1,pay_invoice=1", want: "get_balance=8,make_invoice=1,pay_invoice=1", share: 0.1},
		{in: " pay_invoice = 3 , get_info ", want: "pay_invoice=3,get_info=1", share: 0.75},
		{in: "get_balance,", want: "get_balance=1"},
		{in: "", err: true},
		{in: ",", err: true},
		{in: "get_balance=0", err: true},
		{in: "get_balance=-1", err: true},
		{in: "get_balance=x", err: true},
		{in: "get_balance=1,get_balance=2", err: true},
		{in: "pay_keysend", err: true},
		{in: "nope", err: true},
	}
	for _, tc := range tests {
		m, err := ParseMix(tc.in)
		if tc.err {
			if !errors.Is(err, ErrBadMix) {
				t.Errorf("ParseMix(%q) err %v, want ErrBadMix", tc.in, err)
			}
			continue
		}
		if err != nil || m.String() != tc.want {
			t.Errorf("ParseMix(%q) = %q, %v; want %q", tc.in, m, err, tc.want)
			continue
		}
		if got := m.Share(nip47.MethodPayInvoice); math.Abs(got-tc.share) > 1e-9 {
			t.Errorf("ParseMix(%q) pay share %v, want %v", tc.in, got, tc.share)
		}
	}
}

func TestMixPickFollowsWeights(t *testing.T) {
	m, err := ParseMix("get_balance=8,make_invoice=1,pay_invoice=1")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	counts := map[nip47.Method]int{}
	const n = 100_000
	for range n {
		counts[m.pick(rng)]++
	}
	for _, w := range m {
		want := float64(n) * m.Share(w.Method)
		if math.Abs(float64(counts[w.Method])-want) > 0.03*want {
			t.Errorf("%s picked %d times, want about %.0f", w.Method, counts[w.Method], want)
		}
	}
}

func FuzzParseMix(f *testing.F) {
	for _, s := range []string{"get_balance", "get_balance=8,make_invoice=1,pay_invoice=1", "a=", "=1", ",,", "get_info=99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMix(s)
		if err != nil {
			return
		}
		// What parses prints back to something that parses the same.
		again, err := ParseMix(m.String())
		if err != nil || again.String() != m.String() || m.total() <= 0 {
			t.Fatalf("%q -> %q -> %q, %v", s, m, again, err)
		}
	})
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "1234 (nwc) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0", want: 3 * time.Second},
		{in: "77 (a b) c)) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0", want: 100 * time.Millisecond},
		{in: "1 (x) S 1 2 3", err: true},
		{in: "no parens", err: true},
		{in: "1 (x) S 1 1 1 0 -1 0 0 0 0 0 u 3 0", err: true},
	}
	for _, tc := range tests {
		got, err := parseProcStat(tc.in)
		if tc.err != (err != nil) || got != tc.want {
			t.Errorf("parseProcStat(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add("1234 (nwc) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0")
	f.Add("1 ()) S")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseProcStat(s); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v from %q", d, s)
		}
	})
}

func TestCPUClocks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("CPU clocks are read on Linux only")
	}
	if _, err := ProcessCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	v, d, e, s, err := CryptoCost(50)
	if err != nil {
		t.Fatal(err)
	}
	// A signature verification is at least a scalar multiplication: never below a
	// microsecond, and more than a NIP-44 decryption of a few dozen bytes.
	if v < time.Microsecond || s < time.Microsecond || d+e <= 0 {
		t.Fatalf("verify %v decrypt %v encrypt %v sign %v", v, d, e, s)
	}
}
