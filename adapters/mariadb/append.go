package mariadb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

// MySQL error numbers the store reacts to.
const (
	errDupEntry     = 1062
	errLockDeadlock = 1213
	errLockTimeout  = 1205
)

// row is one envelope ready to insert: the stored bytes and the columns copied from it.
type row struct {
	env  events.Envelope
	data []byte
}

// appendReq is one caller's Append waiting for a group commit.
type appendReq struct {
	ctx  context.Context
	rows []row
	size int
	err  error
	done chan struct{}
}

// Append writes envs and their outbox rows in one transaction (see domain.EventStore). Concurrent
// calls are grouped by the committers into shared transactions; if a group fails on a duplicate
// key, each caller is retried alone so only the conflicting caller gets *domain.ConflictError.
func (s *Store) Append(ctx context.Context, envs ...events.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	rows, size, err := encode(envs)
	if err != nil {
		return err
	}
	req := &appendReq{ctx: ctx, rows: rows, size: size, done: make(chan struct{})}
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
		return fmt.Errorf("mariadb: append: %w", ctx.Err())
	}
	// Once queued the request is always answered; returning early would hide whether it committed.
	<-req.done
	return req.err
}

// encode validates and marshals envelopes; a (stream, version) repeated inside one call is a
// conflict found before anything is written.
func encode(envs []events.Envelope) ([]row, int, error) {
	rows := make([]row, len(envs))
	seen := make(map[streamKey]bool, len(envs))
	size := 0
	for i, env := range envs {
		if err := env.Validate(); err != nil {
			return nil, 0, fmt.Errorf("mariadb: append: %w", err)
		}
		k := streamKey{env.StreamType, env.StreamID, env.StreamVersion}
		if seen[k] {
			return nil, 0, &domain.ConflictError{StreamType: k.typ, StreamID: k.id, StreamVersion: k.version}
		}
		seen[k] = true
		b, err := events.Marshal(env)
		if err != nil {
			return nil, 0, fmt.Errorf("mariadb: append: encode %s: %w", env.ID, err)
		}
		rows[i] = row{env: env, data: b}
		size += len(b)
	}
	return rows, size, nil
}

type streamKey struct {
	typ, id string
	version int64
}

// committer takes queued requests, groups those waiting into one transaction and answers each.
func (s *Store) committer() {
	defer s.wg.Done()
	for {
		var first *appendReq
		select {
		case first = <-s.queue:
		case <-s.done:
			// Close waits for in-flight sends, so whatever is queued now is all there is.
			for {
				select {
				case r := <-s.queue:
					s.commitGroup([]*appendReq{r})
				default:
					return
				}
			}
		}
		group := []*appendReq{first}
		n, size := len(first.rows), first.size
	fill:
		for n < s.opts.maxBatch && size < maxStatementBytes {
			select {
			case r := <-s.queue:
				group = append(group, r)
				n += len(r.rows)
				size += r.size
			default:
				break fill
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup commits a group and answers every request in it, even on panic.
func (s *Store) commitGroup(group []*appendReq) {
	answered := false
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("mariadb: group commit panicked", "panic", p, "stack", string(debug.Stack()))
			if !answered {
				for _, r := range group {
					r.err = fmt.Errorf("mariadb: append: internal error: %v", p)
					close(r.done)
				}
			}
		}
	}()
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("mariadb: append: %w", err)
			continue
		}
		live = append(live, r)
	}
	if len(live) > 0 {
		var all []row
		for _, r := range live {
			all = append(all, r.rows...)
		}
		err := s.writeTx(all)
		s.groups.Add(1)
		switch {
		case err == nil:
		case isDup(err) || isLockFailure(err):
			// The group was rolled back: someone's envelopes clash (or InnoDB chose this
			// transaction as a deadlock victim). Retry each caller alone so only a caller whose
			// own envelopes clash fails.
			for _, r := range live {
				r.err = s.appendAlone(r.rows)
			}
		default:
			// Not retried: after a failed COMMIT the outcome is unknown, and a retry could
			// report the caller's own committed events as a conflict.
			for _, r := range live {
				r.err = err
			}
		}
	}
	answered = true
	for _, r := range group {
		close(r.done)
	}
}

// appendAlone writes one caller's rows in their own transaction, retrying deadlock victims.
func (s *Store) appendAlone(rows []row) error {
	for attempt := 1; ; attempt++ {
		err := s.writeTx(rows)
		switch {
		case isDup(err):
			return s.classifyDup(rows, err)
		case isLockFailure(err) && attempt < 3:
			time.Sleep(time.Duration(attempt) * time.Millisecond)
		default:
			return err
		}
	}
}

// classifyDup turns a duplicate-key failure into *domain.ConflictError naming the clashing
// (stream, version), or a plain error for a duplicate event id.
func (s *Store) classifyDup(rows []row, dupErr error) error {
	ctx, cancel := context.WithTimeout(context.Background(), defaultTxTimeout)
	defer cancel()
	if strings.Contains(dupErr.Error(), "events_stream") {
		for _, r := range rows {
			var one int
			err := s.db.QueryRowContext(ctx,
				`SELECT 1 FROM events WHERE stream_type = ? AND stream_id = ? AND stream_version = ?`,
				r.env.StreamType, r.env.StreamID, r.env.StreamVersion).Scan(&one)
			if err == nil {
				return &domain.ConflictError{StreamType: r.env.StreamType, StreamID: r.env.StreamID, StreamVersion: r.env.StreamVersion}
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("mariadb: append: find conflict: %w", err)
			}
		}
		// The clashing row was there a moment ago; report the first envelope.
		r := rows[0].env
		return &domain.ConflictError{StreamType: r.StreamType, StreamID: r.StreamID, StreamVersion: r.StreamVersion}
	}
	return fmt.Errorf("mariadb: append: duplicate event id: %w", dupErr)
}

// writeTx inserts rows and their outbox rows in one transaction.
func (s *Store) writeTx(rows []row) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultTxTimeout)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mariadb: append: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for start := 0; start < len(rows); {
		end, size := start, 0
		for end < len(rows) && (end == start || size+len(rows[end].data) <= maxStatementBytes) {
			size += len(rows[end].data)
			end++
		}
		if err := insertEvents(ctx, tx, rows[start:end]); err != nil {
			return err
		}
		start = end
	}
	if err := insertOutbox(ctx, tx, rows); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mariadb: append: commit: %w", err)
	}
	return nil
}

const eventColumns = `(id, type, schema_version, stream_type, stream_id, stream_version, server_id,
	occurred_at, actor_type, actor_id, correlation_id, causation_id, data)`

func insertEvents(ctx context.Context, tx *sql.Tx, rows []row) error {
	var b strings.Builder
	b.WriteString("INSERT INTO events ")
	b.WriteString(eventColumns)
	b.WriteString(" VALUES ")
	args := make([]any, 0, len(rows)*13)
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
		e := r.env
		var server any
		if e.ServerID != nil {
			server = *e.ServerID
		}
		args = append(args, e.ID, e.Type, e.SchemaVersion, e.StreamType, e.StreamID, e.StreamVersion, server,
			dbTime(e.OccurredAt), e.Actor.Type, e.Actor.ID, e.CorrelationID, e.CausationID, r.data)
	}
	if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("mariadb: append: insert events: %w", err)
	}
	return nil
}

func insertOutbox(ctx context.Context, tx *sql.Tx, rows []row) error {
	var b strings.Builder
	b.WriteString("INSERT INTO outbox (event_id) VALUES ")
	args := make([]any, len(rows))
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?)")
		args[i] = r.env.ID
	}
	if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("mariadb: append: insert outbox: %w", err)
	}
	return nil
}

// dbTime is the column value of an envelope time: UTC, microseconds (DATETIME(6)).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func mysqlErrNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func isDup(err error) bool { return err != nil && mysqlErrNumber(err) == errDupEntry }

// isLockFailure reports a deadlock or lock wait timeout: InnoDB rolled the transaction back
// (deadlock) or the statement (timeout; writeTx then rolls back), so a retry is safe.
func isLockFailure(err error) bool {
	n := mysqlErrNumber(err)
	return err != nil && (n == errLockDeadlock || n == errLockTimeout)
}
