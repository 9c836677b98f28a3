package bench

import (
	"math"
	"math/bits"
	"sort"
	"sync"
	"time"
)

// Histogram records durations in log-linear buckets: exact below 2^subBits ns, then
// 2^(subBits-1) buckets per power of two, so any quantile is within 1/2^(subBits-1)
// (under 1 %) of the true value, in constant memory whatever the number of samples.
type Histogram struct {
	counts []uint64
	n      uint64
	sum    time.Duration
	min    time.Duration
	max    time.Duration
}

const (
	subBits    = 8
	subCount   = 1 << subBits // exact values below this
	halfCount  = subCount / 2 // buckets per power of two above it
	maxBuckets = subCount + (64-subBits)*halfCount
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{counts: make([]uint64, maxBuckets)} }

// bucketOf maps a non-negative value to its bucket.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits // >= 1
	top := v >> shift                // in [halfCount, subCount)
	return subCount + (shift-1)*halfCount + int(top-halfCount)
}

// bucketRange is the [lo, hi] range of values that land in bucket b.
func bucketRange(b int) (lo, hi uint64) {
	if b < subCount {
		return uint64(b), uint64(b)
	}
	shift := (b-subCount)/halfCount + 1
	top := uint64((b-subCount)%halfCount + halfCount)
	lo = top << shift
	return lo, lo + (1 << shift) - 1
}

// Record adds one sample; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample (exact).
func (h *Histogram) Max() time.Duration { return h.max }

// Min is the smallest sample (exact).
func (h *Histogram) Min() time.Duration { return h.min }

// Mean is the average sample.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the value below which a fraction q (0..1) of the samples fall, using
// the nearest-rank definition (the ceil(q·n)-th smallest sample), reported as the middle
// of its bucket and clamped to [Min, Max]. 0 without samples.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(b)
			v := time.Duration(lo + (hi-lo)/2)
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// ExactQuantile is Quantile's definition applied to raw samples (tests and small runs).
func ExactQuantile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(q * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// Recorder collects the outcome of every request of a run. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	start   time.Time
	sent    uint64
	ok      uint64
	errs    map[string]uint64 // by NIP-47 error code, or a transport outcome
	lat     *Histogram        // every answered request (ok or error)
	methods map[string]*methodStats
}

type methodStats struct {
	ok, errors uint64
	lat        *Histogram
}

// NewRecorder starts a recorder whose rates count from start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, errs: map[string]uint64{}, lat: NewHistogram(), methods: map[string]*methodStats{}}
}

// Sent counts a request handed to the relays.
func (r *Recorder) Sent() {
	r.mu.Lock()
	r.sent++
	r.mu.Unlock()
}

// Done records a finished request: code "" is success, anything else an error code.
// Requests that got no answer (timeouts, publish failures) are not in the latencies.
func (r *Recorder) Done(method string, code string, latency time.Duration, answered bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.methods[method]
	if m == nil {
		m = &methodStats{lat: NewHistogram()}
		r.methods[method] = m
	}
	if code == "" {
		r.ok++
		m.ok++
	} else {
		r.errs[code]++
		m.errors++
	}
	if answered {
		r.lat.Record(latency)
		m.lat.Record(latency)
	}
}

// Progress is a snapshot of a run so far, printed once a second.
type Progress struct {
	Elapsed  time.Duration
	Sent     uint64
	OK       uint64
	Errors   uint64
	RateNow  float64 // completions per second since the previous snapshot
	P50, P99 time.Duration
}

// Snapshot returns the progress so far; prev is the previous snapshot (zero at first).
func (r *Recorder) Snapshot(now time.Time, prev Progress) Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Progress{Elapsed: now.Sub(r.start), Sent: r.sent, OK: r.ok, P50: r.lat.Quantile(0.5), P99: r.lat.Quantile(0.99)}
	for _, n := range r.errs {
		p.Errors += n
	}
	if dt := (p.Elapsed - prev.Elapsed).Seconds(); dt > 0 {
		p.RateNow = float64(p.OK+p.Errors-prev.OK-prev.Errors) / dt
	}
	return p
}

// Latencies are the quantiles of a set of answered requests, in milliseconds.
type Latencies struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func latencies(h *Histogram) Latencies {
	return Latencies{
		Count: h.Count(), Mean: ms(h.Mean()), P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)),
		P99: ms(h.Quantile(0.99)), Max: ms(h.Max()),
	}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// MethodReport is the outcome of one method in a mix.
type MethodReport struct {
	OK        uint64    `json:"ok"`
	Errors    uint64    `json:"errors"`
	Latencies Latencies `json:"latency"`
}

// Report is the result of a run.
type Report struct {
	Target      string                  `json:"target"`
	Connections int                     `json:"connections"`
	Mode        string                  `json:"mode"` // "closed-loop" or "open-loop"
	Concurrency int                     `json:"concurrency"`
	TargetRate  float64                 `json:"target_rate,omitempty"`
	Encryption  string                  `json:"encryption"`
	Seconds     float64                 `json:"seconds"`
	Sent        uint64                  `json:"sent"`
	OK          uint64                  `json:"ok"`
	Errors      uint64                  `json:"errors"`
	Throughput  float64                 `json:"requests_per_second"` // answered or failed requests per second
	Latency     Latencies               `json:"latency"`
	ErrorCodes  map[string]uint64       `json:"errors_by_code"`
	Methods     map[string]MethodReport `json:"methods"`
	CPU         *CPUReport              `json:"cpu,omitempty"`
}

// Report summarises the run; end is when the last request finished.
func (r *Recorder) Report(end time.Time) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{
		Seconds: end.Sub(r.start).Seconds(), Sent: r.sent, OK: r.ok, Latency: latencies(r.lat),
		ErrorCodes: map[string]uint64{}, Methods: map[string]MethodReport{},
	}
	for c, n := range r.errs {
		rep.ErrorCodes[c] = n
		rep.Errors += n
	}
	if rep.Seconds > 0 {
		rep.Throughput = math.Round(float64(rep.OK+rep.Errors)/rep.Seconds*10) / 10
	}
	for name, m := range r.methods {
		rep.Methods[name] = MethodReport{OK: m.ok, Errors: m.errors, Latencies: latencies(m.lat)}
	}
	return rep
}
