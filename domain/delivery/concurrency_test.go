package delivery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/delivery"
)

func TestLimiterPerDestination(t *testing.T) {
	l := delivery.NewLimiter(delivery.ConcurrencyPolicy{Default: 2, PerDestination: map[string]int{"MX.Slow.example": 1}})
	ctx := context.Background()
	r1, err := l.Acquire(ctx, "mx.slow.example")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(short, "mx.slow.example"); !errors.Is(err, delivery.ErrLimiterWait) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second slot of a limit-1 destination: %v", err)
	}
	// other destinations are independent and get the default of 2
	a, _ := l.Acquire(ctx, "mx.other.example")
	b, _ := l.Acquire(ctx, "mx.other.example")
	if l.InUse("mx.other.example") != 2 {
		t.Fatalf("in use %d", l.InUse("mx.other.example"))
	}
	a()
	b()
	b() // releasing twice gives back one slot only
	got := make(chan struct{})
	go func() {
		r, err := l.Acquire(ctx, "mx.slow.example")
		if err == nil {
			r()
		}
		close(got)
	}()
	r1()
	select {
	case <-got:
	case <-time.After(2 * time.Second):
		t.Fatal("waiter not woken by release")
	}
	if l.InUse("mx.slow.example") != 0 || l.InUse("mx.other.example") != 0 {
		t.Fatal("slots leaked")
	}
}
