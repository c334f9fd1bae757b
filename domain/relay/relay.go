// Package relay is the outbox relay: the leader-only workflow that moves committed events from the
// event store's outbox onto the bus.
//
// It owns the publishing loop and its guarantees: a row leaves the outbox only after the bus
// confirmed it (publish, then Ack); a cancelled context finishes the batches in flight (every
// batch already sent is confirmed and acked) before Run returns, so nothing is left half done; two relays overlapping for a moment (a lease that
// expired under a slow leader) may publish an entry twice but never lose one.
//
// It must not know which broker or database it talks to: it sees only the domain ports Outbox,
// Publisher and Locker, and imports nothing but domain, events and the standard library.
package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// Defaults used when a Config field is zero.
const (
	DefaultLockName     = "posthaste:relay"
	DefaultLockTTL      = 10 * time.Second
	DefaultLockRetry    = 2 * time.Second
	DefaultBatchSize    = 1000
	DefaultIdlePoll     = 100 * time.Millisecond
	DefaultErrorBackoff = time.Second
	DefaultDrainTimeout = 30 * time.Second
)

// Config tunes the relay. The zero value is usable: every zero field takes its default.
type Config struct {
	// LockName is the leadership lock; every relay of one deployment must use the same name.
	LockName string
	// LockTTL is the lease duration; the locker renews it in the background.
	LockTTL time.Duration
	// LockRetry is how often a relay that is not the leader tries to become one.
	LockRetry time.Duration
	// BatchSize is the most outbox entries read and published in one round.
	BatchSize int
	// IdlePoll is the wait between polls when the outbox was not full (no wait after a full batch).
	IdlePoll time.Duration
	// ErrorBackoff is the wait after a failed Pending, Publish or Ack before the same batch is retried.
	ErrorBackoff time.Duration
	// DrainTimeout bounds how long the batches in flight may still take once ctx is cancelled.
	DrainTimeout time.Duration
	// Notify, when set, wakes the relay at once (in-process appends signal it; sends may be
	// dropped when a wake-up is already pending). Without it the relay only polls.
	Notify <-chan struct{}
	// Observer, when set, is told about every published batch and leadership change (metrics).
	Observer Observer
}

// Observer receives the relay's progress, e.g. to export relay lag to Prometheus.
// Its methods are called from the relay's goroutines, one call at a time, and must not block.
type Observer interface {
	// Published reports a batch of n records confirmed by the bus and acked in the outbox;
	// lastPosition is the highest position in it.
	Published(n int, lastPosition int64, took time.Duration)
	// Leader reports gaining (true) or giving up / losing (false) the relay lock.
	Leader(leader bool)
	// Failed reports an error of one round (the round is retried after ErrorBackoff).
	Failed(err error)
}

// Stats is a snapshot of the relay's counters.
type Stats struct {
	Published    uint64 // records confirmed and acked since start
	Batches      uint64 // non-empty batches since start
	Failures     uint64 // failed rounds since start
	LastPosition int64  // highest position published, 0 before the first
	Leader       bool   // holds the lock now
}

// Relay moves outbox entries to the bus. Build it with New; run it with Run.
type Relay struct {
	cfg    Config
	outbox domain.Outbox
	pub    domain.Publisher
	locker domain.Locker
	log    *slog.Logger
	clock  domain.Clock

	published atomic.Uint64
	batches   atomic.Uint64
	failures  atomic.Uint64
	lastPos   atomic.Int64
	leader    atomic.Bool
	running   atomic.Bool
}

// New builds a relay. It refuses nil dependencies and negative settings.
func New(cfg Config, outbox domain.Outbox, publisher domain.Publisher, locker domain.Locker, logger *slog.Logger, clock domain.Clock) (*Relay, error) {
	var errs []error
	if outbox == nil {
		errs = append(errs, errors.New("outbox is nil"))
	}
	if publisher == nil {
		errs = append(errs, errors.New("publisher is nil"))
	}
	if locker == nil {
		errs = append(errs, errors.New("locker is nil"))
	}
	if logger == nil {
		errs = append(errs, errors.New("logger is nil"))
	}
	if clock == nil {
		errs = append(errs, errors.New("clock is nil"))
	}
	if cfg.LockTTL < 0 || cfg.LockRetry < 0 || cfg.IdlePoll < 0 || cfg.ErrorBackoff < 0 || cfg.DrainTimeout < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if cfg.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch size %d < 0", cfg.BatchSize))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("relay: new: %w", errors.Join(errs...))
	}
	if cfg.LockName == "" {
		cfg.LockName = DefaultLockName
	}
	if cfg.LockTTL == 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	if cfg.LockRetry == 0 {
		cfg.LockRetry = DefaultLockRetry
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.IdlePoll == 0 {
		cfg.IdlePoll = DefaultIdlePoll
	}
	if cfg.ErrorBackoff == 0 {
		cfg.ErrorBackoff = DefaultErrorBackoff
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = DefaultDrainTimeout
	}
	return &Relay{cfg: cfg, outbox: outbox, pub: publisher, locker: locker, log: logger, clock: clock}, nil
}

// Stats returns the relay's counters.
func (r *Relay) Stats() Stats {
	return Stats{
		Published:    r.published.Load(),
		Batches:      r.batches.Load(),
		Failures:     r.failures.Load(),
		LastPosition: r.lastPos.Load(),
		Leader:       r.leader.Load(),
	}
}

// Run relays until ctx is cancelled, then returns nil after finishing the batches in flight
// (confirm and ack of every batch already sent, bounded by DrainTimeout). While another relay holds the lock it retries
// every LockRetry. When its lease is lost it stops leader work and tries to lock again.
// Run may be called once at a time per Relay.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("relay: run: already running")
	}
	defer r.running.Store(false)
	for ctx.Err() == nil {
		lease, ok, err := r.locker.TryLock(ctx, r.cfg.LockName, r.cfg.LockTTL)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			r.fail(fmt.Errorf("relay: lock %s: %w", r.cfg.LockName, err))
			r.sleep(ctx, r.cfg.LockRetry, nil, nil)
			continue
		}
		if !ok {
			r.sleep(ctx, r.cfg.LockRetry, nil, nil)
			continue
		}
		r.setLeader(true)
		r.log.Info("relay: leader", slog.String("lock", r.cfg.LockName))
		r.lead(ctx, lease)
		r.setLeader(false)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := lease.Release(rctx); err != nil {
			r.log.Warn("relay: release lock", slog.String("lock", r.cfg.LockName), slog.Any("error", err))
		}
		cancel()
	}
	return nil
}

// lead does leader work until ctx ends or the lease is lost.
func (r *Relay) lead(ctx context.Context, lease domain.Lease) {
	lost := lease.Lost()
	// Publish and ack on a context that survives cancellation of ctx by DrainTimeout, so the
	// batch in flight is finished (published and acked) rather than abandoned half way.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(r.cfg.DrainTimeout, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-lost:
			r.log.Warn("relay: lease lost, stopping leader work", slog.String("lock", r.cfg.LockName))
			return
		default:
		}
		if err := r.pipeline(ctx, work, lost); err != nil {
			r.fail(err)
			r.sleep(ctx, r.cfg.ErrorBackoff, lost, nil)
		}
	}
}

// pendingAfter is an optional Outbox method (MariaDB and SQLite have it): the entries above
// after, in position order, stamping only what that needs. With it the read-ahead reads only
// rows it has not handed over yet; without it Pending re-reads the rows in flight and skips them.
type pendingAfter interface {
	PendingAfter(ctx context.Context, after int64, limit int) ([]events.Record, error)
}

// asyncPublisher is an optional Publisher method (RabbitMQ has it): PublishAsync sends every
// record in order and returns without waiting for the broker's confirms; confirm waits for
// them and returns nil only when all were confirmed (what Publish returns). Calls must not
// overlap, but the next call may run while an earlier confirm is being waited for: that is
// how sending batch n+1 overlaps the broker confirming batch n.
type asyncPublisher interface {
	PublishAsync(ctx context.Context, recs []events.Record) (confirm func() error, err error)
}

// sentBatch is a batch handed to the broker, waiting for its confirms and then its Ack.
type sentBatch struct {
	recs    []events.Record
	confirm func() error
	start   time.Time
}

// pipeline overlaps the three stages of the relay, each on its own goroutine:
//
//	reader:    Pending / PendingAfter of batch n+2 (stamping positions on MariaDB)
//	sender:    Publish (or PublishAsync) of batch n+1
//	confirmer: waiting for the broker's confirms of batch n, then Ack of batch n
//
// Channels between them are unbuffered, so at most one batch waits at each hand-over and at
// most two batches are unconfirmed at the broker. A batch is acked only after its confirm
// returned nil, so nothing leaves the outbox unconfirmed whatever order things fail in.
//
// It returns nil when ctx ends or the lease is lost, after finishing every batch already sent
// (confirm and ack, on work), and the first error otherwise; the caller then starts a fresh
// pipeline, which reads every unacked row again (at least once).
//
// The reader skips rows it already handed over (position <= the last one read in this
// pipeline): they are unacked only because they are being published. Positions are assigned
// in increasing order (Outbox contract), so no row below that mark is ever new.
func (r *Relay) pipeline(ctx, work context.Context, lost <-chan struct{}) error {
	rctx, stopReader := context.WithCancel(ctx)
	defer stopReader()
	var unacked atomic.Int64 // rows handed over by the reader and not yet acked
	batches := make(chan []events.Record)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- r.read(rctx, lost, batches, &unacked)
	}()
	sent := make(chan sentBatch)
	ackErr := make(chan error, 1)
	var confirmFailed atomic.Bool
	go func() {
		var err error
		for b := range sent {
			if err != nil {
				continue // after a failure nothing more is acked; the fresh pipeline re-reads it
			}
			if err = r.confirmAndAck(work, b); err != nil {
				confirmFailed.Store(true)
				stopReader()
			} else {
				unacked.Add(-int64(len(b.recs)))
			}
		}
		ackErr <- err
	}()
	var sendErr error
	for batch := range batches {
		b, err := r.send(work, batch)
		if err != nil {
			sendErr = err
			break
		}
		sent <- b // the confirmer always takes it (it keeps draining after a failure)
		if confirmFailed.Load() {
			break
		}
		select {
		case <-ctx.Done():
		case <-lost: // lead logs it
		default:
			continue
		}
		break
	}
	stopReader()
	for range batches { // drop the batch read ahead: nothing of it was published
	}
	close(sent)
	aerr := <-ackErr // every batch sent is confirmed and acked (or failed) before returning
	rerr := <-readErr
	return errors.Join(sendErr, aerr, rerr)
}

// read hands batches of rows not yet handed over to out until ctx ends, the lease is lost or
// Pending fails. It sleeps (IdlePoll, or until notified) after a batch that was not full.
func (r *Relay) read(ctx context.Context, lost <-chan struct{}, out chan<- []events.Record, unacked *atomic.Int64) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("relay: pending: panic: %v", p)
		}
	}()
	after, hasAfter := r.outbox.(pendingAfter)
	var lastRead int64
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-lost:
			return nil
		default:
		}
		var recs []events.Record
		var err error
		if hasAfter {
			recs, err = after.PendingAfter(ctx, lastRead, r.cfg.BatchSize)
		} else {
			// The rows in flight come first; ask for enough to see a full batch past them.
			recs, err = r.outbox.Pending(ctx, r.cfg.BatchSize+int(max(unacked.Load(), 0)))
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("relay: pending: %w", err)
		}
		fresh := make([]events.Record, 0, min(len(recs), r.cfg.BatchSize))
		for _, rec := range recs {
			if rec.Position > lastRead && len(fresh) < r.cfg.BatchSize {
				fresh = append(fresh, rec)
			}
		}
		if len(fresh) > 0 {
			for _, rec := range fresh {
				lastRead = max(lastRead, rec.Position)
			}
			unacked.Add(int64(len(fresh)))
			select {
			case out <- fresh:
			case <-ctx.Done():
				return nil
			case <-lost:
				return nil
			}
		}
		if len(fresh) < r.cfg.BatchSize {
			r.sleep(ctx, r.cfg.IdlePoll, lost, r.cfg.Notify)
		}
	}
}

// send hands one batch to the broker: PublishAsync when the publisher has it (the confirms are
// waited for by the confirmer), else Publish (confirmed when it returns). It recovers a panic
// of a port into an error.
func (r *Relay) send(ctx context.Context, recs []events.Record) (b sentBatch, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("relay: panic: %v", p)
		}
	}()
	b = sentBatch{recs: recs, start: r.clock()}
	if ap, ok := r.pub.(asyncPublisher); ok {
		b.confirm, err = ap.PublishAsync(ctx, recs)
	} else {
		err = r.pub.Publish(ctx, recs)
		b.confirm = func() error { return nil }
	}
	if err != nil {
		return sentBatch{}, fmt.Errorf("relay: publish %d records: %w", len(recs), err)
	}
	return b, nil
}

// confirmAndAck waits until the bus confirmed all of a sent batch, then acks it in the outbox.
// It recovers a panic of a port into an error.
func (r *Relay) confirmAndAck(ctx context.Context, b sentBatch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("relay: panic: %v", p)
		}
	}()
	if err := b.confirm(); err != nil {
		return fmt.Errorf("relay: publish %d records: %w", len(b.recs), err)
	}
	positions := make([]int64, len(b.recs))
	var last int64
	for i, rec := range b.recs {
		positions[i] = rec.Position
		last = max(last, rec.Position)
	}
	if err := r.outbox.Ack(ctx, positions); err != nil {
		// Published but still in the outbox: the next pipeline publishes them again
		// (consumers skip duplicates), never loses them.
		return fmt.Errorf("relay: ack %d positions: %w", len(positions), err)
	}
	r.published.Add(uint64(len(b.recs)))
	r.batches.Add(1)
	if last > r.lastPos.Load() {
		r.lastPos.Store(last)
	}
	if r.cfg.Observer != nil {
		r.cfg.Observer.Published(len(b.recs), last, r.clock().Sub(b.start))
	}
	return nil
}

func (r *Relay) fail(err error) {
	r.failures.Add(1)
	r.log.Error("relay: round failed", slog.Any("error", err))
	if r.cfg.Observer != nil {
		r.cfg.Observer.Failed(err)
	}
}

func (r *Relay) setLeader(v bool) {
	r.leader.Store(v)
	if r.cfg.Observer != nil {
		r.cfg.Observer.Leader(v)
	}
}

// sleep waits d, or less when ctx ends, the lease is lost or a notification arrives (nil
// channels never fire: a failed round is not retried early because of a notification).
func (r *Relay) sleep(ctx context.Context, d time.Duration, lost, notify <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-lost:
	case <-notify:
	case <-t.C:
	}
}
