package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

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
	ds, err := sqlstore.NewDrainingSubscriber(chanSubscriber{in})
	if err != nil {
		t.Fatal(err)
	}
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

func TestNewDrainingSubscriberRefusesNil(t *testing.T) {
	if _, err := sqlstore.NewDrainingSubscriber(nil); err == nil {
		t.Error("a nil subscriber was accepted")
	}
}
