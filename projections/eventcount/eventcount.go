// Package eventcount is the simplest read model: how many events of each type each server has
// produced (server id ” for org and user streams), in table event_counts. It counts every wire
// name, known to this binary or not, so it also shows what a newer producer writes.
//
// It owns table event_counts and nothing else; it performs no side effects.
package eventcount

import (
	"context"
	"database/sql"
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

// Apply adds one to the event's (type, server) count. An envelope that fails validation is
// poison: it was never a valid stored event.
func (Projection) Apply(ctx context.Context, tx *sql.Tx, dialect string, rec events.Record) error {
	env := rec.Envelope
	if err := env.Validate(); err != nil {
		return projections.Poison(err)
	}
	if len(env.Type) > 128 || len(env.Server()) > 64 {
		return projections.Poison(fmt.Errorf("eventcount: type or server id too long in event %s", env.ID))
	}
	var q string
	switch dialect {
	case projections.DialectMySQL:
		q = `INSERT INTO event_counts (event_type, server_id, count) VALUES (?, ?, 1)
			ON DUPLICATE KEY UPDATE count = count + 1`
	case projections.DialectSQLite:
		q = `INSERT INTO event_counts (event_type, server_id, count) VALUES (?, ?, 1)
			ON CONFLICT (event_type, server_id) DO UPDATE SET count = count + 1`
	default:
		return fmt.Errorf("eventcount: unknown dialect %q", dialect)
	}
	if _, err := tx.ExecContext(ctx, q, env.Type, env.Server()); err != nil {
		return fmt.Errorf("eventcount: count %s: %w", env.Type, err)
	}
	return nil
}
