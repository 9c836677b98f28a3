package relay

import (
	"context"
	"sync"
)

// outQueue is a connection's outgoing queue, bounded in bytes. Producers never block on
// the network: live fan-out fails fast when the queue is full (the connection is then
// dropped as a slow consumer), while the connection's own reader may wait for room.
type outQueue struct {
	mu     sync.Mutex
	items  [][]byte
	bytes  int
	limit  int
	closed bool
	wake   chan struct{} // to the writer: there is something to send
	room   chan struct{} // to a waiting reader: bytes were sent
}

func newOutQueue(limit int) *outQueue {
	return &outQueue{limit: limit, wake: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// push appends msg if the queue stays within limit bytes (an empty queue always accepts
// one message, however big). It reports false when the queue is full or closed.
func (q *outQueue) push(msg []byte, limit int) bool {
	q.mu.Lock()
	if q.closed || (q.bytes > 0 && q.bytes+len(msg) > limit) {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, msg)
	q.bytes += len(msg)
	q.mu.Unlock()
	signal(q.wake)
	return true
}

// pushWait is push that waits for room until ctx ends.
func (q *outQueue) pushWait(ctx context.Context, msg []byte, limit int) bool {
	for {
		if q.push(msg, limit) {
			return true
		}
		if q.isClosed() {
			return false
		}
		select {
		case <-q.room:
		case <-ctx.Done():
			return false
		}
	}
}

// take removes and returns everything queued (nil if empty). The bytes stay accounted
// until sent is called, so a stuck write still counts against the limit.
func (q *outQueue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

func (q *outQueue) sent(n int) {
	q.mu.Lock()
	q.bytes -= n
	q.mu.Unlock()
	signal(q.room)
}

func (q *outQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *outQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.room)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
