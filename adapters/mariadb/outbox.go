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

// errStampRace means another relay stamped some of the same events first; the round is retried.
var errStampRace = errors.New("another relay stamped concurrently")

// Pending stamps positions on committed events that have none, then returns up to limit outbox
// entries in position order (see domain.Outbox).
//
// Stamping rule: auto-increment values commit out of order, so an event's position is given
// only once its transaction has committed and the relay sees it. One READ COMMITTED transaction
// reads the committed unpositioned events in seq order (a plain read: it neither waits for nor
// locks appends still open) and gives them max(position)+1, +2, ... An append that commits later
// gets a later position, so a follower that saw p never misses anything by asking for > p.
// Two overlapping relays collide on UNIQUE(position) or find the event already stamped; the
// loser rolls back and retries, so no event gets two positions and no position two events.
func (s *Store) Pending(ctx context.Context, limit int) ([]events.Record, error) {
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	if err := s.stamp(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT o.position, e.data FROM outbox o JOIN events e ON e.id = o.event_id
		 WHERE o.position IS NOT NULL ORDER BY o.position LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("mariadb: pending: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("mariadb: pending: %w", err)
	}
	return recs, nil
}

// stamp positions every committed unpositioned event, stampBatch per transaction.
func (s *Store) stamp(ctx context.Context) error {
	for attempt, rounds := 0, 0; ; {
		n, err := s.stampOnce(ctx)
		switch {
		case err == nil && (n < stampBatch || rounds >= maxStampRounds):
			return nil // the rest, if appends outpace us, goes to the next call
		case err == nil:
			attempt = 0 // a full round: more may be waiting
			rounds++
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

func (s *Store) stampOnce(ctx context.Context) (n int, err error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	rows, err := tx.QueryContext(ctx,
		`SELECT seq, id FROM events WHERE position IS NULL ORDER BY seq LIMIT ?`, stampBatch)
	if err != nil {
		return 0, err
	}
	var seqs []uint64
	var ids []string
	for rows.Next() {
		var seq uint64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			rows.Close()
			return 0, err
		}
		seqs = append(seqs, seq)
		ids = append(ids, id)
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
	// UPDATE ... SET position = CASE seq WHEN s1 THEN max+1 ... END WHERE seq IN (...) AND position IS NULL
	var ev, ob strings.Builder
	evArgs := make([]any, 0, 3*len(seqs))
	obArgs := make([]any, 0, 3*len(seqs))
	ev.WriteString("UPDATE events SET position = CASE seq")
	ob.WriteString("UPDATE outbox SET position = CASE event_id")
	for i := range seqs {
		ev.WriteString(" WHEN ? THEN ?")
		ob.WriteString(" WHEN ? THEN ?")
		evArgs = append(evArgs, seqs[i], max+int64(i)+1)
		obArgs = append(obArgs, ids[i], max+int64(i)+1)
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(seqs)), ",")
	ev.WriteString(" END WHERE position IS NULL AND seq IN (" + in + ")")
	ob.WriteString(" END WHERE position IS NULL AND event_id IN (" + in + ")")
	for i := range seqs {
		evArgs = append(evArgs, seqs[i])
		obArgs = append(obArgs, ids[i])
	}
	res, err := tx.ExecContext(ctx, ev.String(), evArgs...)
	if err != nil {
		return 0, err
	}
	if got, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if got != int64(len(seqs)) {
		return 0, errStampRace
	}
	// Outbox rows of already acked events are gone; fewer outbox updates than events is fine.
	if _, err := tx.ExecContext(ctx, ob.String(), obArgs...); err != nil {
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
