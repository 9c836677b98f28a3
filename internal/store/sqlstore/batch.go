package sqlstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// errClosed is returned by a batched write after Close.
var errClosed = errors.New("store closed")

// maxBatch bounds the writes committed together.
const maxBatch = 128

// batcher is group commit for small independent writes (the request log): callers queue
// a write and wait; one goroutine runs every write queued meanwhile in one transaction.
// Where write transactions exclude each other anyway (SQLite's one writer), this turns N
// commits — each a WAL append — into one, without changing what a caller sees: its write
// has committed when it returns, and its own error (a constraint, say) is its own, since a
// failed statement does not abort the transaction around it.
type batcher struct {
	s       *Store
	once    sync.Once // starts loop
	closing sync.Once
	ops     chan *batchOp
	commits atomic.Uint64 // batches run
	writes  atomic.Uint64 // writes in them
	quit    chan struct{}
	done    chan struct{}
}

type batchOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, x runner) error
	err  error
	done chan struct{}
}

func newBatcher(s *Store) *batcher {
	return &batcher{s: s, ops: make(chan *batchOp, maxBatch), quit: make(chan struct{}), done: make(chan struct{})}
}

// do runs fn in the next batch and returns its error once that batch has committed.
func (b *batcher) do(ctx context.Context, fn func(ctx context.Context, x runner) error) error {
	b.once.Do(func() { go b.loop() })
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

func (b *batcher) loop() {
	defer close(b.done)
	batch := make([]*batchOp, 0, maxBatch)
	for {
		select {
		case <-b.quit:
			b.drain()
			return
		case op := <-b.ops:
			batch = append(batch[:0], op)
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
		b.run(batch)
	}
}

// run commits one batch. A write whose ctx ended before the batch began is skipped.
func (b *batcher) run(batch []*batchOp) {
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
	for _, op := range batch {
		if err != nil && op.err == nil {
			op.err = err
		}
		close(op.done)
	}
}

// drain answers writes still queued at Close.
func (b *batcher) drain() {
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
