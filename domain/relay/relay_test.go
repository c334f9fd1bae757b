package relay_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/bustest"
	"github.com/posthaste/posthaste/adapters/memory"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/relay"
	"github.com/posthaste/posthaste/events"
)

// fakeOutbox is the in-memory event store's outbox for the relay loop's unit tests, offered as
// domain.Outbox alone (no PendingAfter: these tests drive the loop's Pending path, the
// integration tests the read-ahead), with an Ack that fails on demand.
type fakeOutbox struct {
	store   *memory.EventStore
	mu      sync.Mutex
	failAck bool
}

func newOutbox(t *testing.T, recs []events.Record) *fakeOutbox {
	t.Helper()
	o := &fakeOutbox{store: memory.NewEventStore()}
	o.add(t, recs)
	return o
}

// add appends the envelopes of recs, which must name the positions the store gives them.
func (o *fakeOutbox) add(t *testing.T, recs []events.Record) {
	t.Helper()
	if len(recs) == 0 {
		return
	}
	ctx := context.Background()
	envs := make([]events.Envelope, len(recs))
	for i, r := range recs {
		envs[i] = r.Envelope
	}
	if err := o.store.Append(ctx, envs...); err != nil {
		t.Fatal(err)
	}
	got, err := o.store.ReadAll(ctx, recs[0].Position-1, len(recs))
	if err != nil || len(got) != len(recs) {
		t.Fatalf("outbox read back %d of %d records: %v", len(got), len(recs), err)
	}
	for i, r := range recs {
		if got[i].Position != r.Position || got[i].Envelope.ID != r.Envelope.ID {
			t.Fatalf("event %s stored at position %d, the test expects %d", r.Envelope.ID, got[i].Position, r.Position)
		}
	}
}

func (o *fakeOutbox) Pending(ctx context.Context, limit int) ([]events.Record, error) {
	return o.store.Pending(ctx, limit)
}

func (o *fakeOutbox) Ack(ctx context.Context, positions []int64) error {
	o.mu.Lock()
	fail := o.failAck
	o.mu.Unlock()
	if fail {
		return errors.New("ack failed")
	}
	return o.store.Ack(ctx, positions)
}

// left returns how many entries the outbox holds (-1 if it cannot say).
func (o *fakeOutbox) left() int {
	recs, err := o.store.Pending(context.Background(), math.MaxInt)
	if err != nil {
		return -1
	}
	return len(recs)
}

// isPending reports whether the entry of pos is still in the outbox.
func (o *fakeOutbox) isPending(pos int64) bool {
	recs, err := o.store.PendingAfter(context.Background(), pos-1, 1)
	return err == nil && len(recs) == 1 && recs[0].Position == pos
}

// fakePublisher records what was published; hook runs inside Publish (before it returns).
type fakePublisher struct {
	mu        sync.Mutex
	published map[int64]int
	calls     int
	fail      error
	hook      func(recs []events.Record)
	outbox    *fakeOutbox // when set, asserts records are still pending while being published
	t         *testing.T
}

func (p *fakePublisher) Publish(_ context.Context, recs []events.Record) error {
	if p.hook != nil {
		p.hook(recs)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail != nil {
		return p.fail
	}
	if p.outbox != nil {
		for _, r := range recs {
			if !p.outbox.isPending(r.Position) {
				p.t.Errorf("position %d acked before its publish returned", r.Position)
			}
		}
	}
	if p.published == nil {
		p.published = map[int64]int{}
	}
	for _, r := range recs {
		p.published[r.Position]++
	}
	return nil
}

func (p *fakePublisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.published)
}

func (p *fakePublisher) setFail(err error) {
	p.mu.Lock()
	p.fail = err
	p.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func fast() relay.Config {
	return relay.Config{LockTTL: time.Second, LockRetry: 20 * time.Millisecond, IdlePoll: 10 * time.Millisecond, ErrorBackoff: 10 * time.Millisecond, BatchSize: 100}
}

func start(t *testing.T, r *relay.Relay) (cancel func(), done <-chan error) {
	t.Helper()
	ctx, c := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- r.Run(ctx) }()
	t.Cleanup(func() {
		c()
		<-ch
	})
	return c, ch
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNewRefusesNilDependencies(t *testing.T) {
	o, p, l := newOutbox(t, nil), &fakePublisher{}, memory.NewLocker()
	cases := map[string]func() error{
		"outbox":    func() error { _, err := relay.New(fast(), nil, p, l, quiet(), time.Now); return err },
		"publisher": func() error { _, err := relay.New(fast(), o, nil, l, quiet(), time.Now); return err },
		"locker":    func() error { _, err := relay.New(fast(), o, p, nil, quiet(), time.Now); return err },
		"logger":    func() error { _, err := relay.New(fast(), o, p, l, nil, time.Now); return err },
		"clock":     func() error { _, err := relay.New(fast(), o, p, l, quiet(), nil); return err },
		"batch":     func() error { _, err := relay.New(relay.Config{BatchSize: -1}, o, p, l, quiet(), time.Now); return err },
	}
	for name, f := range cases {
		if f() == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestPublishesEverythingAndAcksOnlyAfterPublish(t *testing.T) {
	o := newOutbox(t, bustest.Records(0, 1050))
	// A slow publisher lets the reader run ahead: rows being published must not be read again.
	p := &fakePublisher{outbox: o, t: t, hook: func([]events.Record) { time.Sleep(10 * time.Millisecond) }}
	obs := &observer{}
	cfg := fast()
	cfg.Observer = obs
	r, err := relay.New(cfg, o, p, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	waitFor(t, "outbox drained", func() bool { return o.left() == 0 })
	if p.count() != 1050 {
		t.Fatalf("published %d distinct, want 1050", p.count())
	}
	p.mu.Lock()
	for pos, n := range p.published {
		if n != 1 {
			t.Errorf("position %d published %d times by one healthy relay", pos, n)
		}
	}
	p.mu.Unlock()
	st := r.Stats()
	if st.Published != 1050 || st.LastPosition != 1050 || st.Batches != 11 || !st.Leader {
		t.Fatalf("stats %+v", st)
	}
	if obs.total() != 1050 || obs.last() != 1050 {
		t.Fatalf("observer saw %d records, last %d", obs.total(), obs.last())
	}
}

func TestFailedPublishIsNotAckedAndIsRetried(t *testing.T) {
	o := newOutbox(t, bustest.Records(0, 10))
	p := &fakePublisher{fail: errors.New("broker down")}
	r, err := relay.New(fast(), o, p, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	waitFor(t, "a few failed rounds", func() bool { return r.Stats().Failures >= 3 })
	if o.left() != 10 {
		t.Fatalf("%d left in outbox after failed publishes, want 10", o.left())
	}
	p.setFail(nil)
	waitFor(t, "outbox drained after recovery", func() bool { return o.left() == 0 })
}

func TestFailedAckRepublishesNeverLoses(t *testing.T) {
	o := newOutbox(t, bustest.Records(0, 5))
	o.failAck = true
	p := &fakePublisher{}
	r, err := relay.New(fast(), o, p, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	waitFor(t, "republish after failed ack", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.published[1] >= 2
	})
	o.mu.Lock()
	o.failAck = false
	o.mu.Unlock()
	waitFor(t, "drained", func() bool { return o.left() == 0 })
}

func TestCancelFinishesTheBatchInFlight(t *testing.T) {
	o := newOutbox(t, bustest.Records(0, 100))
	ctx, cancel := context.WithCancel(context.Background())
	p := &fakePublisher{}
	p.hook = func([]events.Record) {
		cancel()                          // SIGTERM arrives while the batch is in flight
		time.Sleep(50 * time.Millisecond) // the broker is still confirming
	}
	r, err := relay.New(fast(), o, p, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if o.left() != 0 {
		t.Fatalf("%d records published but not acked after shutdown", o.left())
	}
	if p.calls != 1 {
		t.Fatalf("%d publish calls, want 1 (no new batch after cancel)", p.calls)
	}
}

func TestFollowerWaitsForTheLock(t *testing.T) {
	locker := memory.NewLocker()
	held, ok, err := locker.TryLock(context.Background(), relay.DefaultLockName, time.Second)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	o := newOutbox(t, bustest.Records(0, 3))
	p := &fakePublisher{}
	r, err := relay.New(fast(), o, p, locker, quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	time.Sleep(150 * time.Millisecond)
	if p.count() != 0 || r.Stats().Leader {
		t.Fatal("published without holding the lock")
	}
	held.Release(context.Background())
	waitFor(t, "drained once leader", func() bool { return o.left() == 0 })
}

// lossyLocker hands out leases that the test can mark lost.
type lossyLocker struct {
	mu     sync.Mutex
	leases []*lossyLease
	grant  bool
}

type lossyLease struct{ lost chan struct{} }

func (l *lossyLease) Lost() <-chan struct{}         { return l.lost }
func (l *lossyLease) Release(context.Context) error { return nil }

func (l *lossyLocker) TryLock(context.Context, string, time.Duration) (domain.Lease, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.grant {
		return nil, false, nil
	}
	ls := &lossyLease{lost: make(chan struct{})}
	l.leases = append(l.leases, ls)
	return ls, true, nil
}

func TestLostLeaseStopsLeaderWork(t *testing.T) {
	locker := &lossyLocker{grant: true}
	o := newOutbox(t, nil)
	p := &fakePublisher{}
	r, err := relay.New(fast(), o, p, locker, quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	waitFor(t, "leader", func() bool { return r.Stats().Leader })
	locker.mu.Lock()
	locker.grant = false
	close(locker.leases[0].lost)
	locker.mu.Unlock()
	waitFor(t, "stepped down", func() bool { return !r.Stats().Leader })
	o.add(t, bustest.Records(0, 5))
	time.Sleep(150 * time.Millisecond)
	if p.count() != 0 {
		t.Fatalf("published %d records after the lease was lost", p.count())
	}
	locker.mu.Lock()
	locker.grant = true
	locker.mu.Unlock()
	waitFor(t, "drained after regaining the lock", func() bool { return o.left() == 0 })
}

func TestNotifyWakesTheIdleRelay(t *testing.T) {
	o := newOutbox(t, nil)
	p := &fakePublisher{}
	notify := make(chan struct{}, 1)
	cfg := fast()
	cfg.IdlePoll = time.Hour
	cfg.Notify = notify
	r, err := relay.New(cfg, o, p, memory.NewLocker(), quiet(), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	waitFor(t, "leader", func() bool { return r.Stats().Leader })
	time.Sleep(20 * time.Millisecond) // now asleep for an hour
	o.add(t, bustest.Records(0, 1))
	notify <- struct{}{}
	waitFor(t, "published after notify", func() bool { return o.left() == 0 })
}

type observer struct {
	mu    sync.Mutex
	n     int
	pos   int64
	lead  []bool
	fails int
}

func (o *observer) Published(n int, last int64, _ time.Duration) {
	o.mu.Lock()
	o.n += n
	o.pos = last
	o.mu.Unlock()
}
func (o *observer) Leader(v bool) { o.mu.Lock(); o.lead = append(o.lead, v); o.mu.Unlock() }
func (o *observer) Failed(error)  { o.mu.Lock(); o.fails++; o.mu.Unlock() }
func (o *observer) total() int    { o.mu.Lock(); defer o.mu.Unlock(); return o.n }
func (o *observer) last() int64   { o.mu.Lock(); defer o.mu.Unlock(); return o.pos }
