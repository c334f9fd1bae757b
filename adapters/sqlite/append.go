package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("sqlite: store closed")

const (
	maxGroupEvents = 1000             // events per group-commit transaction
	txTimeout      = 30 * time.Second // one group-commit transaction
)

type row struct {
	env  events.Envelope
	data []byte
}

// appendReq is one caller's Append waiting for the committer.
type appendReq struct {
	ctx  context.Context
	rows []row
	also func(*sql.Tx) error // runs first, inside the request's savepoint (may be nil)
	err  error
	done chan struct{}
}

// Append writes envs and their outbox rows atomically, assigning positions max(seq)+1, +2, ...
// (see domain.EventStore). Concurrent calls are grouped by the committer into one transaction,
// each caller inside its own savepoint: a conflict rolls back only that caller's savepoint.
func (s *Store) Append(ctx context.Context, envs ...events.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	return s.appendWith(ctx, envs, nil)
}

// appendWith appends envs like Append, running also (when not nil) first in the same
// transaction and savepoint: e.g. storing a message body that the events reference. If also
// fails, nothing of the request is written and its error is returned.
func (s *Store) appendWith(ctx context.Context, envs []events.Envelope, also func(*sql.Tx) error) error {
	rows, err := encode(envs)
	if err != nil {
		return err
	}
	req := &appendReq{ctx: ctx, rows: rows, also: also, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.queue <- req:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return fmt.Errorf("sqlite: append: %w", ctx.Err())
	}
	// Once queued the request is always answered; returning early would hide whether it committed.
	<-req.done
	return req.err
}

func encode(envs []events.Envelope) ([]row, error) {
	type key struct {
		typ, id string
		v       int64
	}
	rows := make([]row, len(envs))
	seen := make(map[key]bool, len(envs))
	for i, env := range envs {
		if err := env.Validate(); err != nil {
			return nil, fmt.Errorf("sqlite: append: %w", err)
		}
		k := key{env.StreamType, env.StreamID, env.StreamVersion}
		if seen[k] {
			return nil, &domain.ConflictError{StreamType: k.typ, StreamID: k.id, StreamVersion: k.v}
		}
		seen[k] = true
		b, err := events.Marshal(env)
		if err != nil {
			return nil, fmt.Errorf("sqlite: append: encode %s: %w", env.ID, err)
		}
		rows[i] = row{env: env, data: b}
	}
	return rows, nil
}

// committer is the only appender: it groups waiting requests into one transaction.
func (s *Store) committer() {
	defer s.wg.Done()
	for {
		var first *appendReq
		select {
		case first = <-s.queue:
		case <-s.done:
			for { // Close waits for in-flight sends, so this is everything left
				select {
				case r := <-s.queue:
					s.commitGroup([]*appendReq{r})
				default:
					return
				}
			}
		}
		group, n := []*appendReq{first}, len(first.rows)
	fill:
		for n < maxGroupEvents {
			select {
			case r := <-s.queue:
				group = append(group, r)
				n += len(r.rows)
			default:
				break fill
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup writes every live request of the group in one transaction and answers each.
func (s *Store) commitGroup(group []*appendReq) {
	answered := false
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("sqlite: group commit panicked", "panic", p, "stack", string(debug.Stack()))
			if !answered {
				for _, r := range group {
					r.err = fmt.Errorf("sqlite: append: internal error: %v", p)
					close(r.done)
				}
			}
		}
	}()
	var live []*appendReq
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("sqlite: append: %w", err)
			continue
		}
		live = append(live, r)
	}
	if len(live) > 0 {
		if err := s.writeGroup(live); err != nil {
			for _, r := range live {
				if r.err == nil {
					r.err = err
				}
			}
		}
	}
	answered = true
	for _, r := range group {
		close(r.done)
	}
}

// writeGroup runs one transaction. A request that clashes gets its own error in r.err and its
// savepoint is rolled back; the returned error (begin or commit failed) applies to the others.
func (s *Store) writeGroup(reqs []*appendReq) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), txTimeout)
	defer cancel()
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: we hold the write lock from here
	if err != nil {
		return fmt.Errorf("sqlite: append: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&last); err != nil {
		return fmt.Errorf("sqlite: append: %w", err)
	}
	written := 0
	for _, r := range reqs {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT append_req"); err != nil {
			return fmt.Errorf("sqlite: append: savepoint: %w", err)
		}
		if r.also != nil {
			r.err = r.also(tx)
		}
		if r.err == nil {
			r.err = insertRows(ctx, tx, r.rows, last)
		}
		if r.err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO append_req"); err != nil {
				return fmt.Errorf("sqlite: append: rollback to savepoint: %w", err)
			}
		} else {
			last += int64(len(r.rows))
			written++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE append_req"); err != nil {
			return fmt.Errorf("sqlite: append: release savepoint: %w", err)
		}
	}
	if written == 0 {
		return tx.Rollback()
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: append: commit: %w", err)
	}
	return nil
}

// insertRows inserts one request's rows as seq = position = base+1, base+2, ... with their
// outbox rows, classifying a stream clash as *domain.ConflictError.
func insertRows(ctx context.Context, tx *sql.Tx, rows []row, base int64) error {
	for start := 0; start < len(rows); start += maxInsertRows {
		end := min(start+maxInsertRows, len(rows))
		if err := insertChunk(ctx, tx, rows[start:end], base+int64(start)); err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed: events.stream_type") {
				return conflict(ctx, tx, rows[start:], err) // earlier chunks are ours
			}
			return err
		}
	}
	return nil
}

// insertChunk inserts rows as seq = position = base+1, base+2, ... with their outbox rows.
func insertChunk(ctx context.Context, tx *sql.Tx, rows []row, base int64) error {
	var ev, ob strings.Builder
	ev.WriteString(`INSERT INTO events (seq, position, id, type, schema_version, stream_type, stream_id,
		stream_version, server_id, occurred_at, actor_type, actor_id, correlation_id, causation_id, data) VALUES `)
	ob.WriteString(`INSERT INTO outbox (position) VALUES `)
	evArgs := make([]any, 0, 15*len(rows))
	obArgs := make([]any, 0, len(rows))
	for i, r := range rows {
		if i > 0 {
			ev.WriteByte(',')
			ob.WriteByte(',')
		}
		ev.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
		ob.WriteString("(?)")
		pos := base + int64(i) + 1
		e := r.env
		var server any
		if e.ServerID != nil {
			server = *e.ServerID
		}
		evArgs = append(evArgs, pos, pos, e.ID, e.Type, e.SchemaVersion, e.StreamType, e.StreamID, e.StreamVersion,
			server, dbTime(e.OccurredAt), e.Actor.Type, e.Actor.ID, e.CorrelationID, e.CausationID, r.data)
		obArgs = append(obArgs, pos)
	}
	if _, err := tx.ExecContext(ctx, ev.String(), evArgs...); err != nil {
		return fmt.Errorf("sqlite: append: insert events: %w", err)
	}
	if _, err := tx.ExecContext(ctx, ob.String(), obArgs...); err != nil {
		return fmt.Errorf("sqlite: append: insert outbox: %w", err)
	}
	return nil
}

// conflict names the (stream, version) that already exists. The transaction holds the write
// lock, so what it reads is what the insert clashed with.
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
			return fmt.Errorf("sqlite: append: find conflict: %w (after %v)", err, cause)
		}
	}
	return cause
}
