package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/posthaste/posthaste/projections"
)

// ProjectionStatus is one projection's progress, for `posthaste status` and Prometheus.
type ProjectionStatus struct {
	Projection string `json:"projection"`
	// Horizon: every event at or below this position is applied (or dead-lettered).
	Horizon int64 `json:"horizon"`
	// Applied is the highest position applied.
	Applied int64 `json:"applied_position"`
	// Head is the store's highest position.
	Head int64 `json:"head_position"`
	// Lag is Head minus the highest position applied (never negative).
	Lag int64 `json:"lag"`
	// DeadLetters counts the poison events recorded for the projection (durable).
	DeadLetters int64 `json:"dead_letters"`

	// The runner's own accounting since it started (zero when read without a runner).
	AppliedSinceStart      int64 `json:"applied_since_start"`
	SkippedSinceStart      int64 `json:"skipped_since_start"`
	DeadLetteredSinceStart int64 `json:"dead_lettered_since_start"`
	RetriesSinceStart      int64 `json:"retries_since_start"`
}

// ReadStatus reads the progress of the named projections from the database and the store, without
// a runner (as `posthaste status` does from another process).
func ReadStatus(ctx context.Context, db *sql.DB, reader projections.Reader, names []string) ([]ProjectionStatus, error) {
	if db == nil || reader == nil {
		return nil, errors.New("projections: status: nil database or reader")
	}
	out := make([]ProjectionStatus, 0, len(names))
	var head int64
	for i, name := range names {
		st := ProjectionStatus{Projection: name}
		var err error
		st.Horizon, st.Applied, err = readHorizon(ctx, db, name)
		if err != nil {
			return nil, err
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM projection_dead_letters WHERE projection = ?`, name).Scan(&st.DeadLetters); err != nil {
			return nil, fmt.Errorf("projections: count dead letters of %s: %w", name, err)
		}
		done := max(st.Horizon, st.Applied)
		if i == 0 || done > head {
			if head, err = HeadPosition(ctx, reader, max(done, head)); err != nil {
				return nil, err
			}
		}
		st.Head = head
		st.Lag = max(head-done, 0)
		out = append(out, st)
	}
	return out, nil
}

// Status reports every projection of the runner: what ReadStatus reads, plus the runner's counters.
func (r *Runner) Status(ctx context.Context) ([]ProjectionStatus, error) {
	names := make([]string, len(r.projs))
	for i, p := range r.projs {
		names[i] = p.Name()
	}
	sts, err := ReadStatus(ctx, r.db, r.reader, names)
	if err != nil {
		return nil, err
	}
	for i := range sts {
		c := r.stats[sts[i].Projection]
		sts[i].AppliedSinceStart = c.applied.Load()
		sts[i].SkippedSinceStart = c.skipped.Load()
		sts[i].DeadLetteredSinceStart = c.deadLettered.Load()
		sts[i].RetriesSinceStart = c.retries.Load()
	}
	return sts, nil
}

// HeadPosition returns the store's highest position (0 for an empty log), found with O(log n)
// one-event reads of ReadAll starting from from, a position known to be at or below the head
// (0 when none is known).
func HeadPosition(ctx context.Context, r projections.Reader, from int64) (int64, error) {
	// first returns the position of the first event after `after`, or 0 when there is none.
	first := func(after int64) (int64, error) {
		recs, err := r.ReadAll(ctx, after, 1)
		if err != nil {
			return 0, fmt.Errorf("projections: read store head: %w", err)
		}
		if len(recs) == 0 {
			return 0, nil
		}
		return recs[0].Position, nil
	}
	lo, hi, step := max(from, 0), max(from, 0)+1, int64(1)
	// Invariant once the loop ends: no event at or after hi; lo is an event (or the start).
	for {
		p, err := first(hi - 1)
		if err != nil {
			return 0, err
		}
		if p == 0 {
			break
		}
		lo = p
		step *= 2
		hi = lo + step
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		p, err := first(mid - 1)
		if err != nil {
			return 0, err
		}
		if p == 0 || p >= hi {
			hi = mid
		} else {
			lo = p
		}
	}
	return lo, nil
}

// Horizon returns the catch-up horizon of the named projection: every event at or below it is
// applied (or dead-lettered). A projection that never ran has horizon 0.
func Horizon(ctx context.Context, db *sql.DB, projection string) (int64, error) {
	h, _, err := readHorizon(ctx, db, projection)
	return h, err
}

// OutboxPending counts the events committed but not yet confirmed by the bus (the relay's lag):
// the store keeps one outbox row per such event.
func OutboxPending(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count outbox: %w", err)
	}
	return n, nil
}

// LastPosition returns the highest position stamped on a stored event (0 when none is), read
// from the events table directly: where a follower starts when it has printed nothing yet.
func LastPosition(ctx context.Context, db *sql.DB) (int64, error) {
	var last int64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&last); err != nil {
		return 0, fmt.Errorf("read head: %w", err)
	}
	return last, nil
}
