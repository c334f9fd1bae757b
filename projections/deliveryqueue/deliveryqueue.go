// Package deliveryqueue is the read model of pending delivery work: one row per message that
// may still be attempted (queued, held, deferred), built from message events, so the queue is
// rebuilt from the event log after any crash. It also answers the workers' questions (what is
// due, claim it) through Queue; claims live in a separate lease table that is not part of the
// projection (leases are ephemeral and never rebuilt).
//
// It performs no delivery itself: domain/dispatch does, through the Queue it is given.
package deliveryqueue

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/posthaste/posthaste/events"
)

// Name is the projection's stable name (queue, checkpoints, replay target).
const Name = "delivery_queue"

// Row statuses.
const (
	StatusQueued   = "queued"
	StatusHeld     = "held"
	StatusDeferred = "deferred"
)

// Projection maintains table delivery_queue.
type Projection struct{}

func (Projection) Name() string     { return Name }
func (Projection) Tables() []string { return []string{"delivery_queue"} }

// Apply folds one message event into the queue. Times are stored as UTC unix microseconds so
// both dialects compare them the same way.
func (Projection) Apply(ctx context.Context, tx *sql.Tx, dialect string, rec events.Record) error {
	env := rec.Envelope
	if env.StreamType != events.StreamMessage {
		return nil
	}
	ev, err := events.Decode(env)
	if err != nil {
		return err
	}
	at := env.OccurredAt.UTC().UnixMicro()
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	v := env.StreamVersion
	switch e := ev.(type) {
	case *events.MessageQueued:
		return exec(insertIgnore(dialect)+` INTO delivery_queue
			(message_id, server_id, rcpt_domain, body_id, status, attempts, next_attempt_us, queued_us, version)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`,
			env.StreamID, env.Server(), domainOf(e.RcptTo), e.BodyID, StatusQueued, at, at, v)
	case *events.MessageHeld:
		return exec(`UPDATE delivery_queue SET status = ?, hold_expires_us = ?, next_attempt_us = ?, version = ? WHERE message_id = ?`,
			StatusHeld, e.Expires.UTC().UnixMicro(), heldNextAttempt, v, env.StreamID)
	case *events.MessageReleased:
		return exec(`UPDATE delivery_queue SET status = ?, next_attempt_us = ?, hold_expires_us = 0, version = ? WHERE message_id = ?`,
			StatusQueued, at, v, env.StreamID)
	case *events.MessageAttempted:
		return exec(`UPDATE delivery_queue SET attempts = ?, version = ? WHERE message_id = ?`, e.Attempt, v, env.StreamID)
	case *events.MessageDeferred:
		return exec(`UPDATE delivery_queue SET status = ?, attempts = ?, next_attempt_us = ?, version = ? WHERE message_id = ?`,
			StatusDeferred, e.Attempt, e.NextAttemptAt.UTC().UnixMicro(), v, env.StreamID)
	case *events.MessageDelivered, *events.MessageBounced, *events.MessageExpired, *events.MessageHoldCancelled:
		return exec(`DELETE FROM delivery_queue WHERE message_id = ?`, env.StreamID)
	}
	// Other message events (signed, …) leave the row alone: an attempt always ends with an
	// outcome (deferred, delivered, …) that sets the version a settled claim waits for.
	return nil
}

// heldNextAttempt is a held row's next attempt: never, until released, so Due's index range
// (next_attempt_us <= now) never walks over held messages.
const heldNextAttempt = math.MaxInt64

func insertIgnore(dialect string) string {
	if dialect == "sqlite" {
		return "INSERT OR IGNORE"
	}
	return "INSERT IGNORE"
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

// Queue answers the workers: which messages are due, and exclusive claims on them.
type Queue struct {
	db      *sql.DB
	dialect string
	gcAt    atomic.Int64 // unix micros of the last sweep of lapsed settled claims
}

// gcEvery spaces the sweeps of lapsed settled claims.
const gcEvery = 10 * time.Second

// NewQueue refuses a nil database.
func NewQueue(db *sql.DB, dialect string) (*Queue, error) {
	if db == nil {
		return nil, fmt.Errorf("deliveryqueue: nil database")
	}
	return &Queue{db: db, dialect: dialect}, nil
}

// Due lists up to limit messages whose next attempt is at or before now, oldest first, that
// nobody holds a live claim on and whose row is not behind a settled claim (an attempt recorded
// on the stream that the queue has not applied yet: listing it again would only make a worker
// claim it, read its stream and find nothing to do).
//
// It walks delivery_queue_next in next-attempt order and stops after limit rows: held rows sit
// at the end of that index, so a backlog of held or future work costs nothing.
func (q *Queue) Due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	nowUS := now.UTC().UnixMicro()
	rows, err := q.db.QueryContext(ctx, `SELECT d.message_id FROM delivery_queue d
		LEFT JOIN delivery_leases l ON l.message_id = d.message_id AND l.until_us >= ?
			AND (l.owner <> '' OR l.settle_version > d.version)
		WHERE d.next_attempt_us <= ? AND d.status IN (?, ?) AND l.message_id IS NULL
		ORDER BY d.next_attempt_us LIMIT ?`, nowUS, nowUS, StatusQueued, StatusDeferred, limit)
	if err != nil {
		return nil, fmt.Errorf("deliveryqueue: due: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("deliveryqueue: due: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Claim takes leases on ids for owner until now+ttl; it returns the ids it got. A lease whose
// time has passed (its holder died) or that was released (settled) is taken over. Two owners
// never both get one id.
func (q *Queue) Claim(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) ([]string, error) {
	nowUS, untilUS := now.UTC().UnixMicro(), now.Add(ttl).UTC().UnixMicro()
	if len(ids) == 0 {
		return nil, nil
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("deliveryqueue: claim: %w", err)
	}
	defer tx.Rollback()
	ph := placeholders(len(ids))
	args := make([]any, 0, len(ids)+1)
	args = append(args, nowUS)
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM delivery_leases WHERE (until_us < ? OR owner = '') AND message_id IN (`+ph+`)`, args...); err != nil {
		return nil, fmt.Errorf("deliveryqueue: claim: %w", err)
	}
	vals := strings.TrimSuffix(strings.Repeat("(?, ?, ?),", len(ids)), ",")
	ins := make([]any, 0, 3*len(ids))
	for _, id := range ids {
		ins = append(ins, id, owner, untilUS)
	}
	if _, err := tx.ExecContext(ctx, insertIgnore(q.dialect)+` INTO delivery_leases (message_id, owner, until_us) VALUES `+vals, ins...); err != nil {
		return nil, fmt.Errorf("deliveryqueue: claim: %w", err)
	}
	sel := append([]any{owner}, args[1:]...)
	rows, err := tx.QueryContext(ctx, `SELECT message_id FROM delivery_leases WHERE owner = ? AND message_id IN (`+ph+`)`, sel...)
	if err != nil {
		return nil, fmt.Errorf("deliveryqueue: claim: %w", err)
	}
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		got = append(got, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return got, tx.Commit()
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// Extend renews owner's leases on ids until now+ttl (a worker still attempting them).
func (q *Queue) Extend(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{now.Add(ttl).UTC().UnixMicro(), owner}
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE delivery_leases SET until_us = ? WHERE owner = ? AND message_id IN (`+placeholders(len(ids))+`)`, args...); err != nil {
		return fmt.Errorf("deliveryqueue: extend: %w", err)
	}
	return nil
}

// Release drops owner's claims. released maps each id to the stream version of the last event
// its attempt recorded (0: nothing recorded). A claim released with a version is settled, not
// deleted: it no longer keeps any worker from claiming the message, but Due does not list the
// message until the queue has applied that version, or until settleUntil at the latest (a
// projection that fell far behind). Settled claims past settleUntil are deleted here too.
func (q *Queue) Release(ctx context.Context, released map[string]int64, owner string, now, settleUntil time.Time) error {
	if len(released) == 0 {
		return nil
	}
	var drop []any
	var settle []string
	var cases strings.Builder
	var caseArgs []any
	for id, v := range released {
		if v <= 0 {
			drop = append(drop, id)
			continue
		}
		settle = append(settle, id)
		cases.WriteString(" WHEN ? THEN ?")
		caseArgs = append(caseArgs, id, v)
	}
	if len(drop) > 0 {
		args := append([]any{owner}, drop...)
		if _, err := q.db.ExecContext(ctx, `DELETE FROM delivery_leases WHERE owner = ? AND message_id IN (`+placeholders(len(drop))+`)`, args...); err != nil {
			return fmt.Errorf("deliveryqueue: release: %w", err)
		}
	}
	if len(settle) > 0 {
		args := append([]any{settleUntil.UTC().UnixMicro()}, caseArgs...)
		args = append(args, owner)
		for _, id := range settle {
			args = append(args, id)
		}
		if _, err := q.db.ExecContext(ctx, `UPDATE delivery_leases SET owner = '', until_us = ?,
			settle_version = CASE message_id`+cases.String()+` ELSE settle_version END
			WHERE owner = ? AND message_id IN (`+placeholders(len(settle))+`)`, args...); err != nil {
			return fmt.Errorf("deliveryqueue: release: %w", err)
		}
	}
	// Settled claims whose time passed hide nothing any more (delivery_leases_owner finds them).
	nowUS := now.UTC().UnixMicro()
	if last := q.gcAt.Load(); nowUS-last < gcEvery.Microseconds() || !q.gcAt.CompareAndSwap(last, nowUS) {
		return nil
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM delivery_leases WHERE owner = '' AND until_us < ?`, now.UTC().UnixMicro()); err != nil {
		return fmt.Errorf("deliveryqueue: release: %w", err)
	}
	return nil
}

// ExpiredHolds lists up to limit held messages whose hold expired at or before now.
func (q *Queue) ExpiredHolds(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT message_id FROM delivery_queue WHERE status = ? AND hold_expires_us <= ?
		ORDER BY hold_expires_us LIMIT ?`, StatusHeld, now.UTC().UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("deliveryqueue: expired holds: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("deliveryqueue: expired holds: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Stats reports the queue depth and the oldest queued time (unix micros, 0 when empty), for
// metrics.
func (q *Queue) Stats(ctx context.Context) (depth int64, oldestUS int64, err error) {
	var oldest sql.NullInt64
	err = q.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(queued_us) FROM delivery_queue WHERE status IN (?, ?)`,
		StatusQueued, StatusDeferred).Scan(&depth, &oldest)
	if err != nil {
		return 0, 0, fmt.Errorf("deliveryqueue: stats: %w", err)
	}
	return depth, oldest.Int64, nil
}
