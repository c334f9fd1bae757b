package projectiontest

import (
	"context"
	"testing"
	"time"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Outcome is how the runner settled one delivery.
type Outcome struct {
	ID     string // the event id
	Dead   bool
	Reason error
}

// Feed is an in-test bus for one projection (a projections.Subscriber): the test hands
// deliveries to the runner and sees how each was settled, and signals reconnects.
type Feed struct {
	Deliveries  chan projections.Delivery
	Reconnected chan struct{}
	Outcomes    chan Outcome
}

// NewFeed hands deliveries over one at a time.
func NewFeed() *Feed { return NewBufferedFeed(0) }

// NewBufferedFeed queues up to n deliveries, so the runner finds several waiting.
func NewBufferedFeed(n int) *Feed {
	return &Feed{Deliveries: make(chan projections.Delivery, n), Reconnected: make(chan struct{}), Outcomes: make(chan Outcome, n+100)}
}

// Delivery is r as a delivery whose settling is reported on Outcomes.
func (f *Feed) Delivery(r events.Record) projections.Delivery {
	id := r.Envelope.ID
	return projections.Delivery{
		Record:     r,
		Ack:        func() error { f.Outcomes <- Outcome{ID: id}; return nil },
		DeadLetter: func(reason error) error { f.Outcomes <- Outcome{ID: id, Dead: true, Reason: reason}; return nil },
	}
}

// Subscribe implements projections.Subscriber.
func (f *Feed) Subscribe(ctx context.Context, projection string) (<-chan projections.Delivery, <-chan struct{}, error) {
	return f.Deliveries, f.Reconnected, nil
}

// DeliverAll queues every record at once, then returns the outcomes in settling order.
func (f *Feed) DeliverAll(t testing.TB, recs ...events.Record) []Outcome {
	t.Helper()
	for _, r := range recs {
		f.Deliveries <- f.Delivery(r)
	}
	out := make([]Outcome, 0, len(recs))
	for range recs {
		select {
		case o := <-f.Outcomes:
			out = append(out, o)
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d deliveries settled", len(out), len(recs))
		}
	}
	return out
}

// Deliver hands the records to the runner one by one and returns how each was settled.
func (f *Feed) Deliver(t testing.TB, recs ...events.Record) []Outcome {
	t.Helper()
	var out []Outcome
	for _, r := range recs {
		id := r.Envelope.ID
		d := f.Delivery(r)
		select {
		case f.Deliveries <- d:
		case <-time.After(30 * time.Second):
			t.Fatal("runner does not take deliveries")
		}
		select {
		case o := <-f.Outcomes:
			if o.ID != id {
				t.Fatalf("settled %s, want %s", o.ID, id)
			}
			out = append(out, o)
		case <-time.After(30 * time.Second):
			t.Fatalf("delivery %s never settled", id)
		}
	}
	return out
}

// Acked fails the test for every outcome that was dead-lettered.
func Acked(t testing.TB, outs []Outcome) {
	t.Helper()
	for _, o := range outs {
		if o.Dead {
			t.Errorf("delivery %s dead-lettered: %v", o.ID, o.Reason)
		}
	}
}
