package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// ProjectionOptions tune a Runner (and a replay). Zero fields take the defaults shown.
type ProjectionOptions struct {
	// CatchUpInterval is how often each consumer reconciles from the store (30s).
	CatchUpInterval time.Duration
	// BatchSize is the number of events per transaction when reading the store (1000).
	BatchSize int
	// MaxAttempts bounds the tries of a transaction that fails on the database (5).
	MaxAttempts int
	// RetryBackoff is the first pause between tries (100ms); it doubles up to MaxBackoff (5s).
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// DeliveryBatch is the most deliveries applied in one transaction: those already waiting when
	// one arrives are taken together (100).
	DeliveryBatch int
	// Clock stamps dead letters (time.Now).
	Clock func() time.Time
	// IsDatabaseError tells a database failure (retried) from a poison event (IsDatabaseError).
	IsDatabaseError func(error) bool
}

func (o ProjectionOptions) withDefaults() ProjectionOptions {
	if o.CatchUpInterval <= 0 {
		o.CatchUpInterval = 30 * time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.DeliveryBatch <= 0 {
		o.DeliveryBatch = 100
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.MaxBackoff < o.RetryBackoff {
		o.MaxBackoff = o.RetryBackoff
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.IsDatabaseError == nil {
		o.IsDatabaseError = IsDatabaseError
	}
	return o
}

// Runner feeds projections from the bus and the store with an exactly-once effect.
//
// Each projection has its own consumer on its own queue. A delivery is handled in one
// transaction with the projection's stream checkpoint: a version already applied is skipped, the
// next version is applied, a version ahead of the checkpoint first gets the missing versions from
// the store. Nothing is ever requeued. A poison event is recorded in projection_dead_letters, the
// checkpoint moves past it and the delivery is dead-lettered; a database failure is rolled back
// and retried with backoff, then dead-lettered (the event is applied later from the store: by
// the gap fill of a later version or by the next catch-up).
//
// On start, on every reconnect of the bus and every CatchUpInterval, each consumer catches up
// from the store after its horizon (projection_positions.position), so events the bus lost (a
// wiped broker) are applied too.
type Runner struct {
	db     *sql.DB
	d      Dialect
	reader projections.Reader
	sub    projections.Subscriber
	projs  []projections.Projection
	log    *slog.Logger
	opts   ProjectionOptions
	stats  map[string]*counters
}

// NewRunner checks the wiring (every problem listed) and returns a runner of projs over db, a
// database of dialect d holding the event log's read models; Run starts it.
func NewRunner(db *sql.DB, d Dialect, reader projections.Reader, sub projections.Subscriber, projs []projections.Projection, logger *slog.Logger, opts ProjectionOptions) (*Runner, error) {
	var errs []error
	if db == nil {
		errs = append(errs, errors.New("nil database"))
	}
	if d == nil {
		errs = append(errs, errors.New("nil dialect"))
	}
	if reader == nil {
		errs = append(errs, errors.New("nil reader"))
	}
	if sub == nil {
		errs = append(errs, errors.New("nil subscriber"))
	}
	if logger == nil {
		errs = append(errs, errors.New("nil logger"))
	}
	if len(projs) == 0 {
		errs = append(errs, errors.New("no projections"))
	}
	stats := map[string]*counters{}
	for i, p := range projs {
		if p == nil {
			errs = append(errs, fmt.Errorf("projection %d is nil", i))
			continue
		}
		if err := checkProjection(p); err != nil {
			errs = append(errs, err)
		}
		if _, dup := stats[p.Name()]; dup {
			errs = append(errs, fmt.Errorf("projection %q is given twice", p.Name()))
		}
		stats[p.Name()] = &counters{}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("projections: new runner: %w", errors.Join(errs...))
	}
	return &Runner{db: db, d: d, reader: reader, sub: sub, projs: projs, log: logger, opts: opts.withDefaults(), stats: stats}, nil
}

// checkProjection refuses a name or a table that could not be used safely in SQL.
func checkProjection(p projections.Projection) error {
	if p.Name() == "" || len(p.Name()) > 100 {
		return fmt.Errorf("projection name %q must have 1 to 100 characters", p.Name())
	}
	for _, t := range p.Tables() {
		if !validIdent(t) {
			return fmt.Errorf("projection %s: table name %q is not a plain identifier", p.Name(), t)
		}
		if isBookkeeping(t) {
			return fmt.Errorf("projection %s: table %s is the runner's", p.Name(), t)
		}
	}
	return nil
}

func validIdent(s string) bool {
	if s == "" || len(s) > 54 { // leaves room for "__rebuild" within the 64 of the stricter database
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func isBookkeeping(t string) bool {
	return t == tableStreams || t == tablePositions || t == tableDeadLetters
}

func (r *Runner) worker(p projections.Projection) *worker {
	return &worker{conn: r.db, d: r.d, reader: r.reader, proj: p,
		log: r.log.With("projection", p.Name()), opts: r.opts, stats: r.stats[p.Name()]}
}

// Run subscribes every projection and consumes until ctx ends (it then returns nil) or a
// subscription is lost for good (it then stops the other consumers and returns the error).
func (r *Runner) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type sub struct {
		w           *worker
		deliveries  <-chan projections.Delivery
		reconnected <-chan struct{}
	}
	subs := make([]sub, 0, len(r.projs))
	for _, p := range r.projs {
		d, rc, err := r.sub.Subscribe(ctx, p.Name())
		if err != nil {
			return fmt.Errorf("projections: subscribe %s: %w", p.Name(), err)
		}
		subs = append(subs, sub{w: r.worker(p), deliveries: d, reconnected: rc})
	}
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.consume(ctx, s.w, s.deliveries, s.reconnected)
			if err != nil && ctx.Err() == nil {
				once.Do(func() { firstErr = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// consume is one projection's consumer loop; a panic ends it with an error.
func (r *Runner) consume(ctx context.Context, w *worker, deliveries <-chan projections.Delivery, reconnected <-chan struct{}) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("projections: consumer of %s panicked: %v", w.proj.Name(), p)
			w.log.Error("projection consumer panicked", "error", err)
		}
	}()
	r.reconcile(ctx, w, "start")
	tick := time.NewTicker(r.opts.CatchUpInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("projections: subscription of %s closed", w.proj.Name())
			}
			batch := []projections.Delivery{d}
		drain:
			for len(batch) < r.opts.DeliveryBatch {
				select {
				case d, ok := <-deliveries:
					if !ok {
						break drain // seen closed on the next turn
					}
					batch = append(batch, d)
				default:
					break drain
				}
			}
			r.handle(ctx, w, batch)
		case _, ok := <-reconnected:
			if !ok {
				reconnected = nil
				continue
			}
			r.reconcile(ctx, w, "reconnected")
		case <-tick.C:
			r.reconcile(ctx, w, "periodic")
		}
	}
}

// handle applies deliveries in one transaction and settles each: Ack when applied or skipped,
// DeadLetter when the event is poison or the database kept failing. When a batch of several
// fails, its deliveries are tried again one by one, so one bad delivery does not sink the rest.
func (r *Runner) handle(ctx context.Context, w *worker, ds []projections.Delivery) {
	poisons := make([]error, len(ds))
	a, err := w.inTx(ctx, func(a *txApplier) error {
		a.recallDead = true
		recs := make([]events.Record, len(ds))
		for i, d := range ds {
			recs[i] = d.Record
		}
		if err := a.prefetch(ctx, recs); err != nil {
			return err
		}
		for i, d := range ds {
			p, err := a.handle(ctx, d.Record)
			if err != nil {
				return err
			}
			poisons[i] = p
		}
		return a.advanceHorizon(ctx)
	})
	if ctx.Err() != nil {
		return // unsettled: the bus delivers them again
	}
	if err != nil && len(ds) > 1 {
		for _, d := range ds {
			r.handle(ctx, w, []projections.Delivery{d})
		}
		return
	}
	if err != nil {
		d := ds[0]
		env := d.Record.Envelope
		w.stats.deadLettered.Add(1)
		reason := fmt.Errorf("projections: %s: gave up after %d attempts: %w", w.proj.Name(), r.opts.MaxAttempts, err)
		w.log.Error("projection could not apply an event; dead-lettering the delivery (a later catch-up applies it from the store)",
			"event_id", env.ID, "event_type", env.Type, "position", d.Record.Position, "error", err)
		settle(w, "dead-letter", d.DeadLetter, reason)
		return
	}
	w.account(a)
	for i, d := range ds {
		if poisons[i] != nil {
			settle(w, "dead-letter", d.DeadLetter, poisons[i])
			continue
		}
		settle(w, "ack", func(error) error {
			if d.Ack == nil {
				return nil
			}
			return d.Ack()
		}, nil)
	}
}

func settle(w *worker, what string, f func(error) error, reason error) {
	if f == nil {
		return
	}
	if err := f(reason); err != nil {
		// The bus delivers it again; the checkpoint skips it then.
		w.log.Warn("projection could not settle a delivery", "settle", what, "error", err)
	}
}

func (r *Runner) reconcile(ctx context.Context, w *worker, why string) {
	n, err := w.catchUp(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("projection catch-up failed; retried at the next one", "reason", why, "error", err)
		}
		return
	}
	w.stats.reconciled.Add(1)
	if n > 0 {
		w.log.Info("projection caught up from the store", "reason", why, "events", n)
	}
}

// Reconcile catches every projection up from the store now (Run does it on its own; this is for
// tests and for operators that want it at once).
func (r *Runner) Reconcile(ctx context.Context) error {
	var errs []error
	for _, p := range r.projs {
		w := r.worker(p)
		if _, err := w.catchUp(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
