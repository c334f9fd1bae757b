package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/events"
)

// stampAhead is how many events one Pending call stamps at most when its limit is smaller:
// enough that a caller asking for a few entries (tests, tools) finds everything committed so
// far stamped, bounded so that a call on a large backlog stays short.
const stampAhead = maxStampRounds * stampBatch

// unstampedQuery reads the oldest committed unstamped events. FORCE INDEX: left alone, the
// optimizer scans the primary key (every event ever stamped) or filesorts the whole backlog
// from UNIQUE(position); ORDER BY seq (not position, seq) keeps the ordered ref scan on
// events_unstamped, which stops after LIMIT entries (TestStampingReadsOnlyTheBatch).
const unstampedQuery = `SELECT seq FROM events FORCE INDEX (events_unstamped)
	WHERE position IS NULL ORDER BY seq LIMIT ?`

// pendingQuery reads stamped outbox entries past a position, on outbox_position.
const pendingQuery = `SELECT o.position, e.data FROM outbox o JOIN events e ON e.id = o.event_id
	WHERE o.position > ? ORDER BY o.position LIMIT ?`

// errStampRace means another relay stamped some of the same events first; the round is retried.
var errStampRace = errors.New("another relay stamped concurrently")

// Pending stamps positions on committed events that have none, then returns up to limit outbox
// entries in position order (see domain.Outbox). One call stamps at most max(limit,
// stampAhead) events, so a backlog of any size is worked through in bounded steps.
//
// Stamping rule: auto-increment values commit out of order, so an event's position is given
// only once its transaction has committed and the relay sees it. One READ COMMITTED transaction
// reads the committed unpositioned events in seq order (a plain read: it neither waits for nor
// locks appends still open) and gives them max(position)+1, +2, ... An append that commits later
// gets a later position, so a follower that saw p never misses anything by asking for > p.
// Two overlapping relays collide on UNIQUE(position) or find the event already stamped; the
// loser rolls back and retries, so no event gets two positions and no position two events.
//
// Cost: every statement is O(batch) whatever the backlog (unstamped events) and the log size:
// the unstamped events are found on the (position, seq) index events_unstamped, MAX(position)
// is one index dive, updates go by primary key, and the outbox is read on outbox_position.
func (s *Store) Pending(ctx context.Context, limit int) ([]events.Record, error) {
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	if err := s.stamp(ctx, max(limit, stampAhead)); err != nil {
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
	if err := s.stamp(ctx, limit-len(recs)); err != nil {
		return nil, err
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
	rows, err := s.db.QueryContext(ctx, pendingQuery, after, limit)
	if err != nil {
		return nil, fmt.Errorf("mariadb: pending: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("mariadb: pending: %w", err)
	}
	return recs, nil
}

// stamp positions up to want committed unpositioned events (fewer when fewer are committed),
// at most stampBatch per transaction.
func (s *Store) stamp(ctx context.Context, want int) error {
	for attempt, done := 0, 0; done < want; {
		n, err := s.stampOnce(ctx, min(stampBatch, want-done))
		switch {
		case err == nil && n < min(stampBatch, want-done):
			return nil // everything committed is stamped
		case err == nil:
			attempt = 0
			done += n
		case retryableStamp(err) && attempt < maxStampAttempts:
			attempt++
			s.log.Debug("mariadb: stamp positions: retrying", "attempt", attempt, "err", err)
			select {
			case <-ctx.Done():
				return fmt.Errorf("mariadb: stamp positions: %w", ctx.Err())
			case <-time.After(time.Duration(attempt) * time.Millisecond):
			}
		default:
			return fmt.Errorf("mariadb: stamp positions: %w", err)
		}
	}
	return nil
}

func retryableStamp(err error) bool {
	if errors.Is(err, errStampRace) {
		return true
	}
	switch mysqlErrNumber(err) {
	case errDupEntry, errLockDeadlock, errLockTimeout:
		return true
	}
	return false
}

// stampOnce stamps up to limit committed unpositioned events in one transaction.
func (s *Store) stampOnce(ctx context.Context, limit int) (n int, err error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	rows, err := tx.QueryContext(ctx, unstampedQuery, limit)
	if err != nil {
		return 0, err
	}
	seqs := make([]uint64, 0, limit)
	for rows.Next() {
		var seq uint64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return 0, err
		}
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(seqs) == 0 {
		return 0, tx.Commit()
	}
	var max int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&max); err != nil {
		return 0, err
	}
	// Positions follow seq order: the k-th event read gets max+k. Its seqs come in runs of
	// consecutive values (one per group commit, typically hundreds long), and within a run
	// position = seq + (a constant), so each run is one PK range of the UPDATE, with no
	// per-row CASE (a CASE of n WHENs costs O(n) per row, O(n²) per batch). Every seq inside a
	// run was read above, so no other event can be in its range.
	type run struct {
		from, to uint64
		offset   int64
	}
	var runs []run
	for i, seq := range seqs {
		pos := max + int64(i) + 1
		if n := len(runs); n > 0 && runs[n-1].to+1 == seq {
			runs[n-1].to = seq
			continue
		}
		runs = append(runs, run{from: seq, to: seq, offset: pos - int64(seq)})
	}
	var set, where strings.Builder
	var setArgs, whereArgs []any
	set.WriteString("CASE")
	for i, r := range runs {
		set.WriteString(" WHEN seq BETWEEN ? AND ? THEN CAST(seq AS SIGNED) + ?")
		setArgs = append(setArgs, r.from, r.to, r.offset)
		if i > 0 {
			where.WriteString(" OR ")
		}
		where.WriteString("e.seq BETWEEN ? AND ?")
		whereArgs = append(whereArgs, r.from, r.to)
	}
	set.WriteString(" END")
	res, err := tx.ExecContext(ctx,
		"UPDATE events e FORCE INDEX (PRIMARY) SET position = "+set.String()+
			" WHERE position IS NULL AND ("+where.String()+")",
		append(setArgs, whereArgs...)...)
	if err != nil {
		return 0, err
	}
	if got, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if got != int64(len(seqs)) {
		return 0, errStampRace
	}
	// Outbox rows of already acked events are gone; fewer outbox updates than events is fine.
	// Driven from the events' PK ranges, one outbox PK lookup per event.
	if _, err := tx.ExecContext(ctx,
		`UPDATE events e STRAIGHT_JOIN outbox o ON o.event_id = e.id SET o.position = e.position
		 WHERE o.position IS NULL AND (`+where.String()+`)`, whereArgs...); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return len(seqs), nil
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
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("mariadb: ack %d positions: %w", len(chunk), err)
		}
	}
	return nil
}
