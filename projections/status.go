package projections

import (
	"context"
	"errors"
	"fmt"
)

// Status is one projection's progress, for `posthaste status` and Prometheus.
type Status struct {
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
func ReadStatus(ctx context.Context, db DB, reader Reader, names []string) ([]Status, error) {
	if db.SQL == nil || reader == nil {
		return nil, errors.New("projections: status: nil database or reader")
	}
	out := make([]Status, 0, len(names))
	var head int64
	for i, name := range names {
		st := Status{Projection: name}
		var err error
		st.Horizon, st.Applied, err = readHorizon(ctx, db.SQL, name)
		if err != nil {
			return nil, err
		}
		if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM projection_dead_letters WHERE projection = ?`, name).Scan(&st.DeadLetters); err != nil {
			return nil, fmt.Errorf("projections: count dead letters of %s: %w", name, err)
		}
		done := max(st.Horizon, st.Applied)
		if i == 0 || done > head {
			if head, err = headPosition(ctx, reader, max(done, head)); err != nil {
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
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
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
