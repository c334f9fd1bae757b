package sqlstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posthaste/posthaste/projections"
)

// DrainingSubscriber wraps the bus's subscriber so that the projector stops gracefully: after
// Stop it hands the runner no new delivery, and Wait returns once every delivery handed out was
// settled (Ack or DeadLetter), i.e. the runner finished its transactions; then the runner can be
// stopped. Deliveries not handed out stay unacked on the bus and are delivered again after a
// restart (consumers skip duplicates).
type DrainingSubscriber struct {
	inner    projections.Subscriber
	stop     chan struct{}
	stopOnce sync.Once
	inflight atomic.Int64 // handed out (or being handed out) and not yet settled
}

// NewDrainingSubscriber wraps inner; it refuses a nil one.
func NewDrainingSubscriber(inner projections.Subscriber) (*DrainingSubscriber, error) {
	if inner == nil {
		return nil, errors.New("sqlstore: draining subscriber: nil subscriber")
	}
	return &DrainingSubscriber{inner: inner, stop: make(chan struct{})}, nil
}

// Subscribe implements projections.Subscriber: inner's deliveries, counted until settled.
func (s *DrainingSubscriber) Subscribe(ctx context.Context, projection string) (<-chan projections.Delivery, <-chan struct{}, error) {
	in, reconnected, err := s.inner.Subscribe(ctx, projection)
	if err != nil {
		return nil, nil, err
	}
	out := make(chan projections.Delivery)
	go func() {
		defer close(out)
		for {
			select {
			case <-s.stop:
				<-ctx.Done() // hand out nothing more; close only when the runner is told to stop
				return
			case <-ctx.Done():
				return
			case d, ok := <-in:
				if !ok {
					return
				}
				s.inflight.Add(1)
				var once sync.Once
				done := func() { once.Do(func() { s.inflight.Add(-1) }) }
				ack, dead := d.Ack, d.DeadLetter
				d.Ack = func() error {
					defer done()
					if ack == nil {
						return nil
					}
					return ack()
				}
				d.DeadLetter = func(reason error) error {
					defer done()
					if dead == nil {
						return nil
					}
					return dead(reason)
				}
				select {
				case out <- d:
				case <-s.stop: // not handed out: left unacked for the bus to deliver again
					done()
					<-ctx.Done()
					return
				case <-ctx.Done():
					done()
					return
				}
			}
		}
	}()
	return out, reconnected, nil
}

// Stop hands out no further delivery.
func (s *DrainingSubscriber) Stop() { s.stopOnce.Do(func() { close(s.stop) }) }

// Wait waits until every delivery handed out is settled, or timeout; it reports which.
func (s *DrainingSubscriber) Wait(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for s.inflight.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
