package relay_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/domain/relay"
	"github.com/posthaste/posthaste/events"
)

// gatedPublisher implements PublishAsync: every batch is "sent" at once and its confirm waits
// until the test releases it with an outcome, as a broker that confirms late would.
type gatedPublisher struct {
	mu      sync.Mutex
	sent    [][]int64     // positions of each batch, in send order
	gates   []chan error  // one per batch: the confirm's outcome
	settled map[int64]int // positions whose confirm returned nil, how often
	sending int           // PublishAsync calls running now (must never exceed 1)
	t       *testing.T
}

func (p *gatedPublisher) Publish(ctx context.Context, recs []events.Record) error {
	confirm, err := p.PublishAsync(ctx, recs)
	if err != nil {
		return err
	}
	return confirm()
}

func (p *gatedPublisher) PublishAsync(_ context.Context, recs []events.Record) (func() error, error) {
	p.mu.Lock()
	p.sending++
	if p.sending > 1 {
		p.t.Errorf("PublishAsync calls overlap")
	}
	pos := make([]int64, len(recs))
	for i, r := range recs {
		pos[i] = r.Position
	}
	gate := make(chan error, 1)
	p.sent = append(p.sent, pos)
	p.gates = append(p.gates, gate)
	p.sending--
	p.mu.Unlock()
	return func() error {
		err := <-gate
		if err == nil {
			p.mu.Lock()
			if p.settled == nil {
				p.settled = map[int64]int{}
			}
			for _, x := range pos {
				p.settled[x]++
			}
			p.mu.Unlock()
		}
		return err
	}, nil
}

func (p *gatedPublisher) batches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sent)
}

// release sets the outcome of the i-th batch sent.
func (p *gatedPublisher) release(i int, err error) {
	p.mu.Lock()
	gate := p.gates[i]
	p.mu.Unlock()
	gate <- err
}

// TestPipelineSendsAheadButAcksOnlyConfirmed: the next batch goes to the broker while the
// previous one waits for its confirm (the pipelining), but no row leaves the outbox before its
// own confirm returned nil; a failed confirm leaves its rows (and those of batches sent after
// it) in the outbox, and a fresh pipeline publishes them again.
func TestPipelineSendsAheadButAcksOnlyConfirmed(t *testing.T) {
	o := newOutbox(t, bustest.Records(0, 300))
	p := &gatedPublisher{t: t}
	cfg := fast()
	r, err := relay.New(cfg, o, p, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	// Batch 0 (positions 1-100) is unconfirmed, yet batch 1 is sent.
	waitFor(t, "second batch sent before the first is confirmed", func() bool { return p.batches() >= 2 })
	for pos := int64(1); pos <= 300; pos++ {
		if !o.isPending(pos) {
			t.Fatalf("position %d acked while no confirm returned", pos)
		}
	}
	p.release(0, nil)
	waitFor(t, "first batch acked", func() bool { return !o.isPending(100) })
	for pos := int64(101); pos <= 300; pos++ {
		if !o.isPending(pos) {
			t.Fatalf("position %d acked before its confirm", pos)
		}
	}
	// Batch 1 is nacked: it stays, and nothing sent after it is acked by this pipeline.
	waitFor(t, "third batch sent", func() bool { return p.batches() >= 3 })
	p.release(1, errors.New("nack"))
	p.release(2, nil) // confirmed, but sent after a failed batch: acked only after a re-read
	waitFor(t, "the failed round counted", func() bool { return r.Stats().Failures >= 1 })
	for pos := int64(101); pos <= 200; pos++ {
		if !o.isPending(pos) {
			t.Fatalf("position %d acked although its confirm failed", pos)
		}
	}
	// The fresh pipeline re-reads from the lowest unacked row and publishes it again.
	for i := 3; ; i++ {
		waitFor(t, "a batch of the fresh pipeline", func() bool { return p.batches() > i || o.left() == 0 })
		if o.left() == 0 {
			break
		}
		p.release(i, nil)
		waitFor(t, "drained or next batch", func() bool { return o.left() == 0 || p.batches() > i+1 })
		if o.left() == 0 {
			break
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for pos := int64(1); pos <= 300; pos++ {
		if p.settled[pos] == 0 {
			t.Errorf("position %d acked without a successful confirm", pos)
		}
	}
}

// TestCancelWaitsForEveryBatchSent: on SIGTERM the relay sends nothing new, but waits for the
// confirms of everything already sent and acks it before Run returns.
func TestCancelWaitsForEveryBatchSent(t *testing.T) {
	o := newOutbox(t, bustest.Records(0, 300))
	p := &gatedPublisher{t: t}
	r, err := relay.New(fast(), o, p, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitFor(t, "two batches sent", func() bool { return p.batches() >= 2 })
	cancel()
	sent := p.batches()
	for i := range sent {
		p.release(i, nil)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.batches() != sent {
		t.Fatalf("%d batches sent after cancel, want none", p.batches()-sent)
	}
	if want := 300 - 100*sent; o.left() != want {
		t.Fatalf("%d rows left after shutdown, want %d (every batch sent confirmed and acked)", o.left(), want)
	}
}
