package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/events"
)

// Pending returns up to limit outbox entries in position order. Positions are assigned at
// insert, so there is nothing to stamp, and the outbox is keyed by position (acked rows are
// deleted from the B-tree at once), so a call reads O(limit) rows whatever the backlog.
func (s *Store) Pending(ctx context.Context, limit int) ([]events.Record, error) {
	return s.PendingAfter(ctx, 0, limit)
}

// PendingAfter returns up to limit outbox entries with a position above after, in position
// order (the relay's read-ahead: entries at or below after are being published).
func (s *Store) PendingAfter(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	rows, err := s.r.QueryContext(ctx,
		`SELECT o.position, e.data FROM outbox o JOIN events e ON e.position = o.position
		 WHERE o.position > ? ORDER BY o.position LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending: %w", err)
	}
	return recs, nil
}

// Ack deletes the outbox rows of the given positions. Unknown positions are ignored.
func (s *Store) Ack(ctx context.Context, positions []int64) error {
	for start := 0; start < len(positions); start += 1000 {
		end := min(start+1000, len(positions))
		chunk := positions[start:end]
		args := make([]any, len(chunk))
		for i, p := range chunk {
			args[i] = p
		}
		q := `DELETE FROM outbox WHERE position IN (` + strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",") + `)`
		if _, err := s.w.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("sqlite: ack %d positions: %w", len(chunk), err)
		}
	}
	return nil
}
