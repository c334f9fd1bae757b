package sqlstore

import (
	"context"

	"github.com/posthaste/posthaste/events"
)

// Append writes envs and their outbox rows in one transaction (see domain.EventStore).
// Concurrent calls are group-committed with each other and with transcripts; a conflict in one
// caller's envelopes fails only that caller, with *domain.ConflictError (how the group keeps
// the others: Dialect.writeGroup).
func (s *Store) Append(ctx context.Context, envs ...events.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	rows, size, err := encode("append", envs)
	if err != nil {
		return err
	}
	return s.submit(s.appends, &request{op: "append", ctx: ctx, rows: rows, size: size})
}
