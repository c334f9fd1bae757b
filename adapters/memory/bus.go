package memory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// ErrTopologyNotDeclared is returned by Publish before DeclareTopology was called.
var ErrTopologyNotDeclared = errors.New("memory: bus topology not declared")

// DefaultPrefetch bounds the deliveries handed to one subscriber and not yet acked.
const DefaultPrefetch = 256

// Bus is the in-process event bus: one unbounded queue per projection, fed by Publish.
type Bus struct {
	prefetch int

	mu       sync.Mutex
	declared bool
	queues   map[string]*queue
	closed   bool
}

// NewBus returns an empty bus. prefetch bounds unacked deliveries per subscription
// (0 means DefaultPrefetch).
func NewBus(prefetch int) (*Bus, error) {
	if prefetch < 0 {
		return nil, fmt.Errorf("memory: new bus: prefetch %d < 0", prefetch)
	}
	if prefetch == 0 {
		prefetch = DefaultPrefetch
	}
	return &Bus{prefetch: prefetch, queues: map[string]*queue{}}, nil
}

// queue is one projection's queue: records ready for delivery, records delivered and not yet
// acked (requeued when their subscription ends), and dead letters.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	ready   []events.Record
	unacked map[uint64]events.Record
	nextTag uint64
	dead    []DeadLetter
	subs    int
}

// DeadLetter is a poison record kept for the operator.
type DeadLetter struct {
	Record events.Record
	Reason string
}

func newQueue() *queue {
	q := &queue{unacked: map[uint64]events.Record{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// DeclareTopology creates the queue of every named projection (idempotent). Publish refuses to
// run before it was called once, as with the broker.
func (b *Bus) DeclareTopology(_ context.Context, projectionNames []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, name := range projectionNames {
		if name == "" {
			return errors.New("memory: declare topology: empty projection name")
		}
		if _, ok := b.queues[name]; !ok {
			b.queues[name] = newQueue()
		}
	}
	b.declared = true
	return nil
}

func (b *Bus) queue(name string) *queue {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.queues[name]
	if !ok {
		q = newQueue()
		b.queues[name] = q
	}
	return q
}

// Publish appends every record to every projection queue. It returns after all of them hold the
// records; queues are unbounded, so it never drops and never blocks on a slow consumer.
func (b *Bus) Publish(ctx context.Context, recs []events.Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: publish: %w", err)
	}
	b.mu.Lock()
	if !b.declared {
		b.mu.Unlock()
		return ErrTopologyNotDeclared
	}
	qs := make([]*queue, 0, len(b.queues))
	for _, q := range b.queues {
		qs = append(qs, q)
	}
	b.mu.Unlock()
	for _, q := range qs {
		q.mu.Lock()
		q.ready = append(q.ready, recs...)
		q.mu.Unlock()
		q.cond.Broadcast()
	}
	return nil
}

// Subscribe delivers the named projection's queue. Deliveries not acked when ctx ends go back
// to the queue for the next subscription. The reconnected channel never fires: an in-process
// bus cannot lose its connection.
func (b *Bus) Subscribe(ctx context.Context, projection string) (<-chan projections.Delivery, <-chan struct{}, error) {
	if projection == "" {
		return nil, nil, errors.New("memory: subscribe: empty projection name")
	}
	q := b.queue(projection)
	out := make(chan projections.Delivery)
	reconnected := make(chan struct{})
	mine := map[uint64]bool{}
	// Wake the waiting pump when ctx ends.
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	q.mu.Lock()
	q.subs++
	q.mu.Unlock()
	go func() {
		defer stop()
		defer close(out)
		defer func() {
			// Requeue what this subscription received and did not settle.
			q.mu.Lock()
			var back []events.Record
			for tag := range mine {
				if rec, ok := q.unacked[tag]; ok {
					back = append(back, rec)
					delete(q.unacked, tag)
				}
			}
			sort.Slice(back, func(i, j int) bool { return back[i].Position < back[j].Position })
			q.ready = append(back, q.ready...)
			q.subs--
			q.mu.Unlock()
			q.cond.Broadcast()
		}()
		for {
			q.mu.Lock()
			for ctx.Err() == nil && (len(q.ready) == 0 || countMine(q, mine) >= b.prefetch) {
				q.cond.Wait()
			}
			if ctx.Err() != nil {
				q.mu.Unlock()
				return
			}
			rec := q.ready[0]
			q.ready[0] = events.Record{}
			q.ready = q.ready[1:]
			q.nextTag++
			tag := q.nextTag
			q.unacked[tag] = rec
			mine[tag] = true
			q.mu.Unlock()

			d := projections.Delivery{
				Record: rec,
				Ack: func() error {
					return q.settle(tag, "")
				},
				DeadLetter: func(reason error) error {
					msg := "dead-lettered"
					if reason != nil {
						msg = reason.Error()
					}
					return q.settle(tag, msg)
				},
			}
			select {
			case out <- d:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, reconnected, nil
}

// countMine counts this subscription's unacked deliveries; q.mu is held.
func countMine(q *queue, mine map[uint64]bool) int {
	n := 0
	for tag := range mine {
		if _, ok := q.unacked[tag]; ok {
			n++
		} else {
			delete(mine, tag)
		}
	}
	return n
}

// settle acks (reason "") or dead-letters one delivery.
func (q *queue) settle(tag uint64, reason string) error {
	q.mu.Lock()
	defer q.cond.Broadcast()
	defer q.mu.Unlock()
	rec, ok := q.unacked[tag]
	if !ok {
		return errors.New("memory: settle: delivery already settled or its subscription ended")
	}
	delete(q.unacked, tag)
	if reason != "" {
		q.dead = append(q.dead, DeadLetter{Record: rec, Reason: reason})
	}
	return nil
}

// DeadLetterCounts returns, per declared or subscribed projection, how many records its
// dead-letter queue holds.
func (b *Bus) DeadLetterCounts(_ context.Context) (map[string]int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	counts := make(map[string]int, len(b.queues))
	for name, q := range b.queues {
		q.mu.Lock()
		counts[name] = len(q.dead)
		q.mu.Unlock()
	}
	return counts, nil
}

// DeadLetters returns a copy of the named projection's dead-letter queue.
func (b *Bus) DeadLetters(projection string) []DeadLetter {
	q := b.queue(projection)
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]DeadLetter(nil), q.dead...)
}

// Ping always succeeds: the bus lives in this process.
func (b *Bus) Ping(context.Context) error { return nil }
