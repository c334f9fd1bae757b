package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/posthaste/posthaste/projections"
)

// sqlConn is what a worker needs of *sql.DB or *sql.Conn (replay pins one connection).
type sqlConn interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// counters are a projection's runner-side accounting since start.
type counters struct {
	applied, skipped, deadLettered, retries, reconciled atomic.Int64
}

// worker applies records of one projection: the consumer and reconcile of the runner, and replay.
type worker struct {
	conn   sqlConn
	d      Dialect
	reader projections.Reader
	proj   projections.Projection
	log    *slog.Logger
	opts   ProjectionOptions
	stats  *counters
}

// inTx runs fn in a transaction holding the projection's position lock, then writes the
// checkpoints and commits. Stream versions missing from a gap are read from the store outside the
// transaction and fn runs again; database failures are rolled back and retried with doubling
// backoff, MaxAttempts times in all (on the last attempt an Apply failure of any kind is poison).
func (w *worker) inTx(ctx context.Context, fn func(a *txApplier) error) (*txApplier, error) {
	fetched := map[streamKey]fetchedStream{}
	backoff := w.opts.RetryBackoff
	careful := false
	fetches := 0
	var lastErr error
	for attempt := 1; attempt <= w.opts.MaxAttempts; {
		last := attempt == w.opts.MaxAttempts
		a, err := w.tryTx(ctx, fetched, last, careful || last, fn)
		if err == nil {
			return a, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, errCareful) && !careful {
			careful = true
			continue // not a failure: run again with a savepoint per event
		}
		var nf *needFetchError
		if errors.As(err, &nf) {
			if fetches++; fetches > 10 {
				err = fmt.Errorf("projections: %s: checkpoints keep moving under the gap fill (%d passes)", w.proj.Name(), fetches)
			} else if err = w.fetch(ctx, nf.reqs, fetched); err == nil {
				continue // not a failure: run the transaction again with the versions in hand
			}
		}
		lastErr = err
		if attempt == w.opts.MaxAttempts {
			break
		}
		w.stats.retries.Add(1)
		w.log.Warn("projection transaction failed, retrying", "projection", w.proj.Name(), "attempt", attempt, "backoff", backoff, "error", err)
		if err := pause(ctx, backoff); err != nil {
			return nil, err
		}
		backoff = min(2*backoff, w.opts.MaxBackoff)
		attempt++
	}
	return nil, lastErr
}

// fetch reads the requested streams from the store into fetched.
func (w *worker) fetch(ctx context.Context, reqs []fetchReq, fetched map[streamKey]fetchedStream) error {
	for _, r := range reqs {
		recs, err := w.reader.ReadStream(ctx, r.key.typ, r.key.id, r.from)
		if err != nil {
			return fmt.Errorf("projections: read stream %s/%s from %d: %w", r.key.typ, r.key.id, r.from, err)
		}
		fetched[r.key] = fetchedStream{from: r.from, recs: recs}
	}
	return nil
}

func (w *worker) tryTx(ctx context.Context, fetched map[streamKey]fetchedStream, last, careful bool, fn func(a *txApplier) error) (a *txApplier, err error) {
	tx, err := w.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("projections: begin: %w", err)
	}
	ptx := &projectionTx{Tx: tx, d: w.d}
	buffered, _ := w.proj.(projections.Buffered)
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			if buffered != nil {
				buffered.Discard(ptx)
			}
		}
	}()
	if err := lockPosition(ctx, tx, w.d, w.proj.Name()); err != nil {
		return nil, err
	}
	a = newTxApplier(ptx, w.proj, w.opts.Clock, w.opts.IsDatabaseError, fetched, last, careful)
	if err := fn(a); err != nil {
		return nil, err
	}
	if err := a.pendingFetch(); err != nil {
		return nil, err
	}
	if buffered != nil {
		if err := buffered.Flush(ctx, ptx); err != nil {
			return nil, fmt.Errorf("projections: flush %s: %w", w.proj.Name(), err)
		}
	}
	if err := a.flush(ctx); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("projections: commit %s: %w", w.proj.Name(), err)
	}
	return a, nil
}

// account adds a committed transaction's outcome to the counters and logs its dead letters.
func (w *worker) account(a *txApplier) {
	w.stats.applied.Add(int64(a.applied))
	w.stats.skipped.Add(int64(a.skipped))
	w.stats.deadLettered.Add(int64(len(a.dead)))
	for _, d := range a.dead {
		env := d.rec.Envelope
		w.log.Error("projection dead-lettered an event", "projection", w.proj.Name(), "event_id", env.ID,
			"event_type", env.Type, "stream", env.StreamType+"/"+env.StreamID, "stream_version", env.StreamVersion,
			"position", d.rec.Position, "error", d.reason)
	}
}

// catchUp applies every event of the store after the projection's horizon, in batches of
// BatchSize per transaction, advancing the horizon with each batch. Events already applied are
// skipped by their stream checkpoint. It returns the number of events read.
func (w *worker) catchUp(ctx context.Context) (int, error) {
	name := w.proj.Name()
	total := 0
	for {
		horizon, _, err := readHorizon(ctx, w.conn, name)
		if err != nil {
			return total, err
		}
		recs, err := w.reader.ReadAll(ctx, horizon, w.opts.BatchSize)
		if err != nil {
			return total, fmt.Errorf("projections: read store after %d: %w", horizon, err)
		}
		if len(recs) == 0 {
			return total, nil
		}
		moved := false
		a, err := w.inTx(ctx, func(a *txApplier) error {
			h, _, err := readHorizon(ctx, a.tx, name)
			if err != nil {
				return err
			}
			if moved = h != horizon; moved {
				return nil // somebody else advanced it (a replay swapped in): read again
			}
			if err := a.prefetch(ctx, recs); err != nil {
				return err
			}
			for _, rec := range recs {
				if _, err := a.handle(ctx, rec); err != nil {
					return err
				}
			}
			return a.setHorizon(ctx, recs[len(recs)-1].Position)
		})
		if err != nil {
			return total, err
		}
		if moved {
			continue
		}
		w.account(a)
		total += len(recs)
		if len(recs) < w.opts.BatchSize {
			return total, nil
		}
	}
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
