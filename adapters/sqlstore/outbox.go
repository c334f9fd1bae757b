package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/posthaste/posthaste/events"
)

// stampAhead is how many events one Pending call stamps at most when its limit is smaller:
// enough that a caller asking for a few entries (tests, tools) finds everything committed so
// far stamped, bounded so that a call on a large backlog stays short.
const stampAhead = 10 * stampBatch

// stampBatch is the most positions one stamping transaction gives.
const stampBatch = 1000

// Pending gives positions to committed events that have none (where the relay stamps them:
// Dialect.stamp), then returns up to limit outbox entries in position order (see
// domain.Outbox). One call stamps at most max(limit, stampAhead) events, so a backlog of any
// size is worked through in bounded steps; each statement is O(batch) whatever the backlog.
func (s *Store) Pending(ctx context.Context, limit int) ([]events.Record, error) {
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	if _, err := s.d.stamp(ctx, s, max(limit, stampAhead)); err != nil {
		return nil, err
	}
	return s.readPending(ctx, 0, limit)
}

// PendingAfter returns up to limit outbox entries with a position above after, in position
// order, stamping only as many events as it needs for that (the relay's read-ahead: entries at
// or below after are being published). Entries it returns are the ones Pending would return
// after the first ones, so the Outbox contract holds for it too.
func (s *Store) PendingAfter(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	recs, err := s.readPending(ctx, after, limit)
	if err != nil || len(recs) == limit {
		return recs, err
	}
	stamped, err := s.d.stamp(ctx, s, limit-len(recs))
	if err != nil {
		return nil, err
	}
	if stamped == 0 {
		return recs, nil
	}
	if len(recs) > 0 {
		after = recs[len(recs)-1].Position
	}
	more, err := s.readPending(ctx, after, limit-len(recs))
	if err != nil {
		return nil, err
	}
	return append(recs, more...), nil
}

// readPending reads up to limit stamped outbox entries above after, in position order.
func (s *Store) readPending(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	rows, err := s.r.QueryContext(ctx, s.d.pendingQuery(), after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: pending: %w", err)
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
			return fmt.Errorf("sqlstore: ack %d positions: %w", len(chunk), err)
		}
	}
	return nil
}
