package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/submission"
)

// groupTxTimeout bounds one group-commit transaction.
const groupTxTimeout = 30 * time.Second

// insertBounds bound one multi-row INSERT (a bound of 0 does not apply); the first row of a
// statement is always taken, however large.
type insertBounds struct {
	rows  int // rows per statement (SQLite: its limit on variables)
	bytes int // stored bytes per statement (MariaDB: below max_allowed_packet)
}

// next returns the end of the statement that starts at rows[start] of n, sized by size(i).
func (b insertBounds) next(start, n int, size func(i int) int) int {
	end, bytes := start, 0
	for end < n && (end == start || (b.rows == 0 || end-start < b.rows) && (b.bytes == 0 || bytes+size(end) <= b.bytes)) {
		bytes += size(end)
		end++
	}
	return end
}

// postalIDsPerInsert is the rows of one INSERT of Postal ids (5 variables each).
const postalIDsPerInsert = 800

// execer is a transaction or a pool.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// writeTx writes reqs in one transaction of their own (see writeRequests). committing reports
// that err came from COMMIT: the outcome is then unknown.
func (s *Store) writeTx(reqs []*request) (committing bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTxTimeout)
	defer cancel()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlstore: %s: begin: %w", reqs[0].op, err)
	}
	if err := s.writeRequests(ctx, tx, reqs, 0); err != nil {
		_ = tx.Rollback()
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return true, fmt.Errorf("sqlstore: %s: commit: %w", reqs[0].op, err)
	}
	return false, nil
}

// writeRequests inserts everything reqs carry on tx, as few multi-row INSERTs as the dialect's
// bounds allow: the acceptances' bodies, the transcripts, the events and their outbox rows,
// the Postal ids. When the dialect gives positions at insert, the events get base+1, base+2, …
// in order. A stream clash is returned as *domain.ConflictError.
func (s *Store) writeRequests(ctx context.Context, tx *sql.Tx, reqs []*request, base int64) error {
	now := time.Now().UTC().UnixMicro()
	if err := s.insertBodies(ctx, tx, reqs, now); err != nil {
		return err
	}
	var ts []transcript
	for _, r := range reqs {
		if r.transcript != nil {
			ts = append(ts, *r.transcript)
		}
	}
	if err := s.insertTranscripts(ctx, tx, ts, now); err != nil {
		return err
	}
	rows := reqs[0].rows
	if len(reqs) > 1 {
		rows = nil
		for _, r := range reqs {
			rows = append(rows, r.rows...)
		}
	}
	if err := s.insertEvents(ctx, tx, rows, base); err != nil {
		return err
	}
	if err := s.insertOutbox(ctx, tx, rows, base); err != nil {
		return err
	}
	return s.insertPostalIDs(ctx, tx, reqs, now)
}

const eventColumns = `id, type, schema_version, stream_type, stream_id, stream_version, server_id,
	occurred_at, actor_type, actor_id, correlation_id, causation_id, data`

// insertEvents inserts rows; where positions are given at insert, with seq = position =
// base+1, base+2, … in order.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, rows []row, base int64) error {
	atInsert := s.d.positionsAtInsert()
	head, tuple, width := "INSERT INTO events ("+eventColumns+") VALUES ", "(?,?,?,?,?,?,?,?,?,?,?,?,?)", 13
	if atInsert {
		head, tuple, width = "INSERT INTO events (seq, position, "+eventColumns+") VALUES ", "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", 15
	}
	bounds := s.d.insertBounds()
	for start := 0; start < len(rows); {
		end := bounds.next(start, len(rows), func(i int) int { return len(rows[i].data) })
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, (end-start)*width)
		for i, r := range rows[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(tuple)
			if atInsert {
				pos := base + int64(start+i) + 1
				args = append(args, pos, pos)
			}
			e := r.env
			var server any
			if e.ServerID != nil {
				server = *e.ServerID
			}
			args = append(args, e.ID, e.Type, e.SchemaVersion, e.StreamType, e.StreamID, e.StreamVersion, server,
				s.d.storedTime(e.OccurredAt), e.Actor.Type, e.Actor.ID, e.CorrelationID, e.CausationID, r.data)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			if s.d.isUniqueViolation(err) {
				return conflict(ctx, tx, rows[start:], err) // earlier statements' rows are in
			}
			return fmt.Errorf("sqlstore: append: insert events: %w", err)
		}
		start = end
	}
	return nil
}

// insertOutbox inserts the outbox rows of rows: by position where positions are given at
// insert (base+1, …), by event id where the relay stamps them later.
func (s *Store) insertOutbox(ctx context.Context, tx *sql.Tx, rows []row, base int64) error {
	atInsert := s.d.positionsAtInsert()
	head := "INSERT INTO outbox (event_id) VALUES "
	if atInsert {
		head = "INSERT INTO outbox (position) VALUES "
	}
	bounds := insertBounds{rows: s.d.insertBounds().rows}
	for start := 0; start < len(rows); {
		end := bounds.next(start, len(rows), func(int) int { return 0 })
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, end-start)
		for i := range args {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?)")
			if atInsert {
				args[i] = base + int64(start+i) + 1
			} else {
				args[i] = rows[start+i].env.ID
			}
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("sqlstore: append: insert outbox: %w", err)
		}
		start = end
	}
	return nil
}

// conflict names the (stream, version) of rows that already exists, read in the transaction
// whose insert failed on a duplicate key: what the insert clashed with is committed (a
// duplicate waits for the holder of the key to commit) or written earlier in the transaction.
// A clash on another key (the event id) is returned as a plain error.
func conflict(ctx context.Context, tx *sql.Tx, rows []row, cause error) error {
	for _, r := range rows {
		var one int
		err := tx.QueryRowContext(ctx,
			`SELECT 1 FROM events WHERE stream_type = ? AND stream_id = ? AND stream_version = ?`,
			r.env.StreamType, r.env.StreamID, r.env.StreamVersion).Scan(&one)
		if err == nil {
			return &domain.ConflictError{StreamType: r.env.StreamType, StreamID: r.env.StreamID, StreamVersion: r.env.StreamVersion}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlstore: append: find conflict: %w (after %v)", err, cause)
		}
	}
	return fmt.Errorf("sqlstore: append: insert events: %w", cause)
}

// insertBodies inserts the bodies of the acceptances among reqs.
func (s *Store) insertBodies(ctx context.Context, tx *sql.Tx, reqs []*request, now int64) error {
	var accs []*request
	for _, r := range reqs {
		if r.accept != nil {
			accs = append(accs, r)
		}
	}
	bounds := s.d.insertBounds()
	for start := 0; start < len(accs); {
		end := bounds.next(start, len(accs), func(i int) int { return len(accs[i].accept.Body) })
		var b strings.Builder
		b.WriteString(`INSERT INTO bodies (id, server_id, size, data, created_us) VALUES `)
		args := make([]any, 0, 5*(end-start))
		for i, r := range accs[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?)")
			a := r.accept
			args = append(args, a.BodyID, a.ServerID, len(a.Body), a.Body, now)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("sqlstore: accept: store body: %w", err)
		}
		start = end
	}
	return nil
}

// insertPostalIDs records the Postal ids of the acceptances among reqs.
func (s *Store) insertPostalIDs(ctx context.Context, tx *sql.Tx, reqs []*request, now int64) error {
	type idRow struct {
		serverID string
		id       *submission.PostalID
	}
	var ids []idRow
	for _, r := range reqs {
		if r.accept == nil {
			continue
		}
		for i := range r.accept.PostalIDs {
			ids = append(ids, idRow{r.accept.ServerID, &r.accept.PostalIDs[i]})
		}
	}
	bounds := insertBounds{rows: postalIDsPerInsert}
	for start := 0; start < len(ids); {
		end := bounds.next(start, len(ids), func(int) int { return 0 })
		var b strings.Builder
		b.WriteString(`INSERT INTO api_message_ids (id, message_id, server_id, token, created_us) VALUES `)
		args := make([]any, 0, 5*(end-start))
		for i, r := range ids[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?)")
			args = append(args, r.id.ID, r.id.MessageID, r.serverID, r.id.Token, now)
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("sqlstore: accept: record postal ids: %w", err)
		}
		start = end
	}
	return nil
}

// insertTranscripts stores transcripts on e (a transaction, or the pool for SaveTranscript),
// replacing a stored transcript of the same attempt.
func (s *Store) insertTranscripts(ctx context.Context, e execer, ts []transcript, now int64) error {
	bounds := s.d.insertBounds()
	for start := 0; start < len(ts); {
		end := bounds.next(start, len(ts), func(i int) int { return len(ts[i].text) })
		var b strings.Builder
		b.WriteString(s.d.replaceInto())
		b.WriteString(` transcripts (id, message_id, attempt, text, created_us) VALUES `)
		args := make([]any, 0, 5*(end-start))
		for i, t := range ts[start:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?,?,?,?,?)")
			args = append(args, t.id, t.messageID, t.attempt, t.text, now)
		}
		if _, err := e.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("sqlstore: save transcript %s: %w", ts[start].id, err)
		}
		start = end
	}
	return nil
}
