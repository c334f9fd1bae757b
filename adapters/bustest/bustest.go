// Package bustest is the acceptance suite every event bus (domain.Publisher +
// projections.Subscriber) and every domain.Locker implementation must pass: the in-memory ones
// of the embedded default and the RabbitMQ / Redis ones of production run the same tests, so
// nothing works on one and not the other.
//
// It is imported by test files only and imports no adapter.
package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Bus is what the suite drives: publishing, subscribing and the operator's view.
type Bus interface {
	domain.Publisher
	projections.Subscriber
	DeclareTopology(ctx context.Context, projectionNames []string) error
	DeadLetterCounts(ctx context.Context) (map[string]int, error)
	Ping(ctx context.Context) error
}

// Records returns n valid records with positions from+1 .. from+n, one stream per record.
func Records(from int64, n int) []events.Record {
	recs := make([]events.Record, n)
	base := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	for i := range n {
		pos := from + int64(i) + 1
		srv := "srv-1"
		recs[i] = events.Record{
			Position: pos,
			Envelope: events.Envelope{
				ID:            fmt.Sprintf("0193a000-0000-7000-8000-%012d", pos),
				Type:          "message.delivered",
				SchemaVersion: 1,
				StreamType:    events.StreamMessage,
				StreamID:      fmt.Sprintf("msg-%d", pos),
				StreamVersion: 1,
				ServerID:      &srv,
				OccurredAt:    base.Add(time.Duration(pos) * time.Microsecond),
				Actor:         events.Actor{Type: events.ActorSystem, ID: "bustest"},
				Payload:       json.RawMessage(`{"n":` + fmt.Sprint(pos) + `}`),
			},
		}
	}
	return recs
}

// Collect reads deliveries until want distinct positions arrived (acking each) or timeout; it
// returns how often each position was seen.
func Collect(t *testing.T, ch <-chan projections.Delivery, want int, timeout time.Duration) map[int64]int {
	t.Helper()
	seen := map[int64]int{}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for len(seen) < want {
		select {
		case d, ok := <-ch:
			if !ok {
				t.Fatalf("deliveries closed after %d of %d records", len(seen), want)
			}
			seen[d.Record.Position]++
			if err := d.Ack(); err != nil {
				t.Fatalf("ack position %d: %v", d.Record.Position, err)
			}
		case <-deadline.C:
			t.Fatalf("got %d of %d records within %v", len(seen), want, timeout)
		}
	}
	return seen
}

// RunBus runs the bus acceptance suite. newBus returns a fresh, isolated bus (its own exchange
// and queue names) that is cleaned up by t.Cleanup.
func RunBus(t *testing.T, newBus func(t *testing.T) Bus) {
	t.Run("PublishBeforeTopologyIsRefused", func(t *testing.T) {
		bus := newBus(t)
		ctx := context.Background()
		if err := bus.Publish(ctx, Records(0, 1)); err == nil {
			t.Fatal("publish before DeclareTopology succeeded; want an error")
		}
	})

	t.Run("FanOutToEveryProjectionQueue", func(t *testing.T) {
		bus := newBus(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := bus.DeclareTopology(ctx, []string{"alpha", "beta"}); err != nil {
			t.Fatal(err)
		}
		const n = 500
		recs := Records(0, n)
		// Published before anyone subscribes: the queues must hold them.
		for i := 0; i < n; i += 100 {
			if err := bus.Publish(ctx, recs[i:i+100]); err != nil {
				t.Fatalf("publish: %v", err)
			}
		}
		want := map[int64]events.Envelope{}
		for _, r := range recs {
			want[r.Position] = r.Envelope
		}
		for _, name := range []string{"alpha", "beta"} {
			ch, _, err := bus.Subscribe(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			got := map[int64]events.Envelope{}
			deadline := time.After(20 * time.Second)
			for len(got) < n {
				select {
				case d := <-ch:
					got[d.Record.Position] = d.Record.Envelope
					if err := d.Ack(); err != nil {
						t.Fatal(err)
					}
				case <-deadline:
					t.Fatalf("%s: got %d of %d", name, len(got), n)
				}
			}
			for pos, env := range want {
				g := got[pos]
				wb, _ := events.Marshal(env)
				gb, _ := events.Marshal(g)
				if string(wb) != string(gb) {
					t.Fatalf("%s: position %d: got %s, want %s", name, pos, gb, wb)
				}
			}
		}
	})

	t.Run("ConcurrentPublishersLoseNothing", func(t *testing.T) {
		bus := newBus(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := bus.DeclareTopology(ctx, []string{"gamma"}); err != nil {
			t.Fatal(err)
		}
		ch, _, err := bus.Subscribe(ctx, "gamma")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := bus.Publish(ctx, Records(int64(w*100), 100)); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		Collect(t, ch, 400, 20*time.Second)
	})

	t.Run("UnackedIsRedeliveredToTheNextSubscription", func(t *testing.T) {
		bus := newBus(t)
		ctx := context.Background()
		if err := bus.DeclareTopology(ctx, []string{"delta"}); err != nil {
			t.Fatal(err)
		}
		if err := bus.Publish(ctx, Records(0, 1)); err != nil {
			t.Fatal(err)
		}
		sctx, scancel := context.WithCancel(ctx)
		ch, _, err := bus.Subscribe(sctx, "delta")
		if err != nil {
			t.Fatal(err)
		}
		select {
		case d := <-ch:
			if d.Record.Position != 1 {
				t.Fatalf("position %d, want 1", d.Record.Position)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery")
		}
		scancel() // without acking
		for range ch {
		}
		ctx2, cancel2 := context.WithCancel(ctx)
		defer cancel2()
		ch2, _, err := bus.Subscribe(ctx2, "delta")
		if err != nil {
			t.Fatal(err)
		}
		seen := Collect(t, ch2, 1, 10*time.Second)
		if seen[1] != 1 {
			t.Fatalf("redelivery: %v", seen)
		}
	})

	t.Run("DeadLetterLandsInTheDeadLetterQueue", func(t *testing.T) {
		bus := newBus(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := bus.DeclareTopology(ctx, []string{"eps", "zeta"}); err != nil {
			t.Fatal(err)
		}
		if err := bus.Publish(ctx, Records(0, 3)); err != nil {
			t.Fatal(err)
		}
		ch, _, err := bus.Subscribe(ctx, "eps")
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			select {
			case d := <-ch:
				if d.Record.Position == 2 {
					if err := d.DeadLetter(fmt.Errorf("poison")); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := d.Ack(); err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no delivery")
			}
		}
		// Not redelivered.
		select {
		case d := <-ch:
			t.Fatalf("position %d delivered again after being settled", d.Record.Position)
		case <-time.After(300 * time.Millisecond):
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			counts, err := bus.DeadLetterCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if counts["eps"] == 1 && counts["zeta"] == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("dead letter counts %v, want eps:1 zeta:0", counts)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := newBus(t).Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// RunLocker runs the locker acceptance suite. newLocker returns a locker isolated from other
// tests (its own key prefix).
func RunLocker(t *testing.T, newLocker func(t *testing.T) domain.Locker) {
	t.Run("Exclusive", func(t *testing.T) {
		l := newLocker(t)
		ctx := context.Background()
		a, ok, err := l.TryLock(ctx, "relay", time.Second)
		if err != nil || !ok {
			t.Fatalf("first lock: ok=%v err=%v", ok, err)
		}
		defer a.Release(ctx)
		if _, ok, err := l.TryLock(ctx, "relay", time.Second); err != nil || ok {
			t.Fatalf("second lock while held: ok=%v err=%v; want refused", ok, err)
		}
		b, ok, err := l.TryLock(ctx, "other", time.Second)
		if err != nil || !ok {
			t.Fatalf("other name: ok=%v err=%v", ok, err)
		}
		defer b.Release(ctx)
	})

	t.Run("ReleaseFreesTheLock", func(t *testing.T) {
		l := newLocker(t)
		ctx := context.Background()
		a, ok, err := l.TryLock(ctx, "relay", time.Second)
		if err != nil || !ok {
			t.Fatalf("lock: ok=%v err=%v", ok, err)
		}
		if err := a.Release(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-a.Lost():
		case <-time.After(time.Second):
			t.Fatal("Lost not closed after Release")
		}
		b, ok, err := l.TryLock(ctx, "relay", time.Second)
		if err != nil || !ok {
			t.Fatalf("lock after release: ok=%v err=%v", ok, err)
		}
		b.Release(ctx)
	})

	t.Run("RenewalKeepsItBeyondTTL", func(t *testing.T) {
		l := newLocker(t)
		ctx := context.Background()
		a, ok, err := l.TryLock(ctx, "relay", 300*time.Millisecond)
		if err != nil || !ok {
			t.Fatalf("lock: ok=%v err=%v", ok, err)
		}
		defer a.Release(ctx)
		time.Sleep(time.Second)
		select {
		case <-a.Lost():
			t.Fatal("lease lost although renewed")
		default:
		}
		if _, ok, err := l.TryLock(ctx, "relay", time.Second); err != nil || ok {
			t.Fatalf("lock after 3 TTLs of a renewed lease: ok=%v err=%v; want refused", ok, err)
		}
	})

	t.Run("HolderGoneFreesItWithinTTL", func(t *testing.T) {
		l := newLocker(t)
		hctx, hcancel := context.WithCancel(context.Background())
		a, ok, err := l.TryLock(hctx, "relay", 300*time.Millisecond)
		if err != nil || !ok {
			t.Fatalf("lock: ok=%v err=%v", ok, err)
		}
		hcancel() // the holder dies without releasing
		select {
		case <-a.Lost():
		case <-time.After(time.Second):
			t.Fatal("Lost not closed after the holder's ctx ended")
		}
		ctx := context.Background()
		deadline := time.Now().Add(2 * time.Second)
		for {
			b, ok, err := l.TryLock(ctx, "relay", time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				b.Release(ctx)
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("lock still held 2s after its holder died (ttl 300ms)")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
