package platform

import (
	"context"
	"fmt"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// The one freshness rule for reads that must see writes made a moment ago (by this caller or
// any other): read the read model's rows, then the events of the relevant types past the
// model's horizon, and fold those over the rows.
//
// The horizon is where the model is complete: every event at or below it is applied. The tail
// is the events of the filter with a position above it, then the events not yet positioned
// (committed, not yet stamped by the relay: domain.EventStore.Query returns them after the
// positioned ones). An event above the horizon may already be in the rows too; folds must be
// idempotent in position order (tenancy.FoldCredential is). With the projector caught up the
// tail is empty and costs one indexed read; with no projector at all the horizon is 0 and the
// tail is the whole history of the filter (right, but then the model is no help).
//
// The order matters: the horizon is read first, then the rows (which then reflect at least the
// horizon), then the tail after that horizon; read the other way round, an event applied between
// the two reads would be in neither. A missing model (nil) is a model with no rows and horizon 0.

// tailPage is how many events one read of the tail returns.
const tailPage = 1000

// horizon returns the model's horizon (0 without a model).
func horizon(ctx context.Context, m ReadModel) (int64, error) {
	if m == nil {
		return 0, nil
	}
	h, err := m.Horizon(ctx)
	if err != nil {
		return 0, fmt.Errorf("read model horizon: %w", err)
	}
	return h, nil
}

// readFrom pages through the events matching f with a position above after, and the
// unpositioned ones.
func readFrom(ctx context.Context, es domain.EventStore, f domain.EventFilter, after int64) ([]events.Record, error) {
	f.Limit = tailPage
	var out []events.Record
	for {
		f.After = after
		recs, err := es.Query(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("read the log after %d: %w", after, err)
		}
		out = append(out, recs...)
		if len(recs) < tailPage || recs[len(recs)-1].Position == 0 {
			return out, nil
		}
		after = recs[len(recs)-1].Position
	}
}
