package sandbox

import (
	"context"
	"sync"

	"github.com/nwc-go/nwc/internal/lightning"
)

// subscriber has an unbounded queue so that publishing (under s.mu) never
// blocks on a slow reader and no event is dropped.
type subscriber struct {
	mu    sync.Mutex
	queue []lightning.Event
	wake  chan struct{} // capacity 1
}

// Subscribe implements lightning.Backend.
func (s *Sandbox) Subscribe(ctx context.Context) (<-chan lightning.Event, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	sub := &subscriber{wake: make(chan struct{}, 1)}
	out := make(chan lightning.Event)
	s.mu.Lock()
	// Checked under mu so that Close (which waits on wg) cannot miss us.
	select {
	case <-s.closed:
		s.mu.Unlock()
		return nil, s.alive(ctx)
	default:
	}
	s.subs[sub] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		defer close(out)
		defer func() {
			s.mu.Lock()
			delete(s.subs, sub)
			s.mu.Unlock()
		}()
		for {
			sub.mu.Lock()
			var ev lightning.Event
			have := len(sub.queue) > 0
			if have {
				ev = sub.queue[0]
				sub.queue[0] = lightning.Event{}
				sub.queue = sub.queue[1:]
			}
			sub.mu.Unlock()
			if !have {
				select {
				case <-sub.wake:
					continue
				case <-ctx.Done():
					return
				case <-s.closed:
					return
				}
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			case <-s.closed:
				return
			}
		}
	}()
	return out, nil
}

// publishLocked queues ev for every subscriber; s.mu must be held (after
// the change is committed) so that events keep the ledger's order.
func (s *Sandbox) publishLocked(ev lightning.Event) {
	for sub := range s.subs {
		sub.mu.Lock()
		sub.queue = append(sub.queue, ev)
		sub.mu.Unlock()
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

func invoiceEvent(t lightning.EventType, inv lightning.Invoice) lightning.Event {
	return lightning.Event{Type: t, Invoice: &inv}
}

func paymentEvent(p lightning.Payment) lightning.Event {
	return lightning.Event{Type: lightning.EventPaymentSent, Payment: &p}
}
