package sqlstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errClosed is returned by a batched write after Close.
var errClosed = errors.New("store closed")

const (
	// maxBatch bounds the writes committed together.
	maxBatch = 128
	// linger is how long a deferred write may wait for a commit to ride along with, and
	// maxDeferred how many may wait. Long batches are what make the log cheap: every row
	// dirties a random page of the event-id index, and a page written once per commit
	// instead of once per row is most of the saving (a crash loses at most this much of
	// the log: outcomes, and read-only requests' rows).
	linger      = time.Second
	maxDeferred = 4096
	// While the caller says other requests are in flight (Store.SetBusyHint), a waited-for
	// write waits for their writes, as long as they keep coming (at most gatherGap after
	// the last one), up to gatherFor in all or one write per request in flight (group
	// commit under load; a lone request, or a sequential client, commits at once).
	gatherFor = 400 * time.Microsecond
	gatherGap = 100 * time.Microsecond
)

// batcher is group commit for small writes of the request log. Where write transactions
// exclude each other anyway (SQLite's one writer), every commit is a WAL append and a
// good part of a request's store time; the batcher runs all writes queued meanwhile in one
// transaction. Two kinds of write:
//   - do: the caller waits until its write has committed and gets its own error (a failed
//     statement, a constraint say, does not abort the transaction around it);
//   - later: the caller does not wait (a request's outcome, written after its answer):
//     the write joins the next commit, at most linger later. Readers of what later wrote
//     call flush first, so this process always reads its own writes.
type batcher struct {
	s       *Store
	once    sync.Once // starts loop
	closing sync.Once
	ops     chan *batchOp
	wake    chan struct{} // deferred writes are waiting
	quit    chan struct{}
	done    chan struct{}

	mu       sync.Mutex
	deferred []*batchOp
	timer    *time.Timer // armed while deferred is not empty
	// uncommitted counts deferred writes not committed yet: queued, or in the batch that
	// is running (flush must wait for that one too).
	uncommitted atomic.Int64

	commits, writes, failed atomic.Uint64
	lastErr                 atomic.Pointer[error]
	busy                    atomic.Pointer[func() int] // Store.SetBusyHint
}

type batchOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, x runner) error
	err  error
	done chan struct{} // nil for a deferred write
}

func newBatcher(s *Store) *batcher {
	return &batcher{s: s, ops: make(chan *batchOp, maxBatch), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
}

func (b *batcher) start() { b.once.Do(func() { go b.loop() }) }

// do runs fn in the next batch and returns its error once that batch has committed.
func (b *batcher) do(ctx context.Context, fn func(ctx context.Context, x runner) error) error {
	b.start()
	op := &batchOp{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case b.ops <- op:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write runs (it is short): waiting for it, rather than for ctx,
	// means a caller never returns an error for a write that then commits.
	select {
	case <-op.done:
		return op.err
	case <-b.done:
		select {
		case <-op.done: // in the last batch
			return op.err
		default: // queued after the loop's last look: it never runs
			return errClosed
		}
	}
}

// later queues fn for the next commit without waiting for it. Its error, if any, is
// counted (see stats): it cannot reach a caller that has moved on.
func (b *batcher) later(fn func(ctx context.Context, x runner) error) error {
	select {
	case <-b.quit:
		return errClosed
	default:
	}
	b.start()
	b.uncommitted.Add(1)
	b.mu.Lock()
	b.deferred = append(b.deferred, &batchOp{ctx: context.Background(), fn: fn})
	n := len(b.deferred)
	if n == 1 {
		b.timer = time.AfterFunc(linger, b.signal)
	}
	b.mu.Unlock()
	if n >= maxDeferred {
		b.signal()
	}
	return nil
}

// flush returns once the deferred writes queued so far have committed: an empty write
// goes through the loop, after the batch running now (batches run one at a time, in order).
func (b *batcher) flush(ctx context.Context) error {
	if b.uncommitted.Load() == 0 {
		return nil
	}
	return b.do(ctx, func(context.Context, runner) error { return nil })
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// takeDeferred moves the deferred writes into batch.
func (b *batcher) takeDeferred(batch []*batchOp) []*batchOp {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	batch = append(batch, b.deferred...)
	b.deferred = b.deferred[:0]
	return batch
}

func (b *batcher) loop() {
	defer close(b.done)
	batch := make([]*batchOp, 0, 2*maxBatch)
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for {
		batch = batch[:0]
		select {
		case <-b.quit:
			b.drain()
			return
		case op := <-b.ops:
			batch = append(batch, op)
		case <-b.wake:
		}
		// Other requests in flight: wait a moment for their writes, so they share this
		// commit. Otherwise commit at once, nobody else is coming.
		if busy := b.busy.Load(); len(batch) > 0 && busy != nil {
			if others := (*busy)(); others > 0 {
				batch = b.gather(batch, gather, min(maxBatch, len(batch)+others))
			}
		}
	more:
		for len(batch) < maxBatch {
			select {
			case op := <-b.ops:
				batch = append(batch, op)
			default:
				break more
			}
		}
		b.run(b.takeDeferred(batch))
	}
}

// gather adds waited-for writes to batch until want are there, none came for gatherGap,
// or gatherFor has passed.
func (b *batcher) gather(batch []*batchOp, timer *time.Timer, want int) []*batchOp {
	end := time.Now().Add(gatherFor)
	for len(batch) < want {
		wait := min(gatherGap, time.Until(end))
		if wait <= 0 {
			break
		}
		timer.Reset(wait)
		select {
		case op := <-b.ops:
			batch = append(batch, op)
			timer.Stop() // Go ≥ 1.23: no stale tick is left to drain before Reset
			continue
		case <-timer.C:
		}
		break
	}
	return batch
}

// run commits one batch. A write whose ctx ended before the batch began is skipped.
func (b *batcher) run(batch []*batchOp) {
	if len(batch) == 0 {
		return
	}
	err := b.s.db.Write(context.Background(), func(tx Querier) error {
		x := runner{b.s, tx}
		for _, op := range batch {
			if op.err = op.ctx.Err(); op.err == nil {
				op.err = op.fn(op.ctx, x)
			}
		}
		return nil
	})
	b.commits.Add(1)
	b.writes.Add(uint64(len(batch)))
	var later int64
	for _, op := range batch {
		if err != nil && op.err == nil {
			op.err = err
		}
		if op.done != nil {
			continue
		}
		later++
		if op.err != nil {
			b.failed.Add(1)
			b.lastErr.Store(&op.err)
		}
	}
	// Counted before anyone waiting is woken: a flush that returns sees its stats.
	b.uncommitted.Add(-later)
	for _, op := range batch {
		if op.done != nil {
			close(op.done)
		}
	}
}

// drain, at Close, commits the deferred writes and fails the waiting ones still queued.
func (b *batcher) drain() {
	b.run(b.takeDeferred(nil))
	for {
		select {
		case op := <-b.ops:
			op.err = errClosed
			close(op.done)
		default:
			return
		}
	}
}

// close stops the goroutine (if it started) after its current batch.
func (b *batcher) close() {
	b.closing.Do(func() {
		close(b.quit)
		b.once.Do(func() { close(b.done) }) // never started: nothing to wait for
	})
	<-b.done
}
