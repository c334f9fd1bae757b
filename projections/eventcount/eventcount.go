// Package eventcount is the simplest read model: how many events of each type each server has
// produced (server id ” for org and user streams), in table event_counts. It counts every wire
// name, known to this binary or not, so it also shows what a newer producer writes.
//
// It owns table event_counts and nothing else; it performs no side effects.
package eventcount

import (
	"context"
	"fmt"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Name is the projection's stable name (queue, checkpoints, replay target).
const Name = "event_counts"

// Table is the read model: event_counts(event_type, server_id, count).
const Table = "event_counts"

// Projection maintains event_counts.
type Projection struct{}

// New returns the projection.
func New() Projection { return Projection{} }

func (Projection) Name() string     { return Name }
func (Projection) Tables() []string { return []string{Table} }

// columns are event_counts' columns for Upsert: a new (type, server) starts at its count, an
// existing one adds it.
var columns = []projections.Column{{Name: "event_type", On: projections.Key}, {Name: "server_id", On: projections.Key},
	{Name: "count", On: projections.Add}}

// Apply adds one to the event's (type, server) count. An envelope that fails validation is
// poison: it was never a valid stored event.
func (Projection) Apply(ctx context.Context, tx projections.Tx, rec events.Record) error {
	env := rec.Envelope
	if err := env.Validate(); err != nil {
		return projections.Poison(err)
	}
	if len(env.Type) > 128 || len(env.Server()) > 64 {
		return projections.Poison(fmt.Errorf("eventcount: type or server id too long in event %s", env.ID))
	}
	if err := tx.Upsert(ctx, Table, columns, [][]any{{env.Type, env.Server(), 1}}); err != nil {
		return fmt.Errorf("eventcount: count %s: %w", env.Type, err)
	}
	return nil
}
