package main

import (
	"context"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// headStore answers ReadAll as a store whose positions are 1..head; it counts the calls.
type headStore struct {
	domain.EventStore
	head  int64
	calls int
}

func (s *headStore) ReadAll(_ context.Context, after int64, limit int) ([]events.Record, error) {
	s.calls++
	var out []events.Record
	for p := after + 1; p <= s.head && len(out) < limit; p++ {
		out = append(out, events.Record{Position: p})
	}
	return out, nil
}

func TestHeadPosition(t *testing.T) {
	for _, head := range []int64{0, 1, 2, 3, 7, 8, 9, 1000, 123457} {
		s := &headStore{head: head}
		got, err := headPosition(context.Background(), s)
		if err != nil || got != head {
			t.Errorf("head %d: got %d, %v", head, got, err)
		}
		if s.calls > 2*64+2 {
			t.Errorf("head %d: %d reads, want O(log n)", head, s.calls)
		}
	}
}

// chanSubscriber hands out the deliveries of one channel.
type chanSubscriber struct{ ch chan projections.Delivery }

func (s chanSubscriber) Subscribe(ctx context.Context, _ string) (<-chan projections.Delivery, <-chan struct{}, error) {
	return s.ch, nil, nil
}

func TestDrainingSubscriberWaitsForSettlement(t *testing.T) {
	in := make(chan projections.Delivery, 4)
	acked := make(chan int64, 4)
	for i := int64(1); i <= 3; i++ {
		in <- projections.Delivery{Record: events.Record{Position: i}, Ack: func() error { acked <- i; return nil }}
	}
	ds := newDrainingSubscriber(chanSubscriber{in})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, _, err := ds.Subscribe(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	first := <-out // handed out, not yet settled
	ds.Stop()
	if ds.Wait(50 * time.Millisecond) {
		t.Fatal("Wait returned while a delivery was unsettled")
	}
	if err := first.Ack(); err != nil {
		t.Fatal(err)
	}
	if !ds.Wait(time.Second) {
		t.Fatal("Wait did not return after the delivery was acked")
	}
	if got := <-acked; got != first.Record.Position {
		t.Errorf("acked %d, want %d", got, first.Record.Position)
	}
	// After Stop nothing more is handed out (at most the one already in the hand-off).
	extra := 0
	timeout := time.After(100 * time.Millisecond)
loop:
	for {
		select {
		case d := <-out:
			extra++
			d.Ack()
		case <-timeout:
			break loop
		}
	}
	if extra > 1 {
		t.Errorf("%d deliveries handed out after Stop", extra)
	}
}
