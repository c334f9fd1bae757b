package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/posthaste/posthaste/projections/deliveryqueue"
)

// DeliveryQueue answers the delivery workers over the delivery queue read model
// (projections/deliveryqueue): which messages are due, exclusive claims on them (table
// delivery_leases, not part of the projection: leases are ephemeral and never rebuilt), whose
// hold expired, and the queue's depth. It implements domain/delivery's Queue and
// domain/message's ExpiredHolds.
type DeliveryQueue struct {
	db   *sql.DB
	d    Dialect
	gcAt atomic.Int64 // unix micros of the last sweep of lapsed settled claims
}

// gcEvery spaces the sweeps of lapsed settled claims.
const gcEvery = 10 * time.Second

// NewDeliveryQueue refuses a nil database or dialect.
func NewDeliveryQueue(db *sql.DB, d Dialect) (*DeliveryQueue, error) {
	var errs []error
	if db == nil {
		errs = append(errs, errors.New("nil database"))
	}
	if d == nil {
		errs = append(errs, errors.New("nil dialect"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("deliveryqueue: new: %w", errors.Join(errs...))
	}
	return &DeliveryQueue{db: db, d: d}, nil
}

// Due lists up to limit messages whose next attempt is at or before now, oldest first, that
// nobody holds a live claim on and whose row is not behind a settled claim (an attempt recorded
// on the stream that the queue has not applied yet: listing it again would only make a worker
// claim it, read its stream and find nothing to do).
//
// It walks delivery_queue_next in next-attempt order and stops after limit rows: held rows sit
// at the end of that index, so a backlog of held or future work costs nothing.
func (q *DeliveryQueue) Due(ctx context.Context, now time.Time, limit int) ([]string, error) {
	nowUS := now.UTC().UnixMicro()
	rows, err := q.db.QueryContext(ctx, `SELECT d.message_id FROM delivery_queue d
		LEFT JOIN delivery_leases l ON l.message_id = d.message_id AND l.until_us >= ?
			AND (l.owner <> '' OR l.settle_version > d.version)
		WHERE d.next_attempt_us <= ? AND d.status IN (?, ?) AND l.message_id IS NULL
		ORDER BY d.next_attempt_us LIMIT ?`, nowUS, nowUS, deliveryqueue.StatusQueued, deliveryqueue.StatusDeferred, limit)
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
func (q *DeliveryQueue) Claim(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) ([]string, error) {
	nowUS, untilUS := now.UTC().UnixMicro(), now.Add(ttl).UTC().UnixMicro()
	if len(ids) == 0 {
		return nil, nil
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("deliveryqueue: claim: %w", err)
	}
	defer tx.Rollback()
	ph := inList(len(ids))
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
	if _, err := tx.ExecContext(ctx, q.d.InsertIgnore()+` INTO delivery_leases (message_id, owner, until_us) VALUES `+vals, ins...); err != nil {
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

// Extend renews owner's leases on ids until now+ttl (a worker still attempting them).
func (q *DeliveryQueue) Extend(ctx context.Context, ids []string, owner string, now time.Time, ttl time.Duration) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{now.Add(ttl).UTC().UnixMicro(), owner}
	for _, id := range ids {
		args = append(args, id)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE delivery_leases SET until_us = ? WHERE owner = ? AND message_id IN (`+inList(len(ids))+`)`, args...); err != nil {
		return fmt.Errorf("deliveryqueue: extend: %w", err)
	}
	return nil
}

// Release drops owner's claims. released maps each id to the stream version of the last event
// its attempt recorded (0: nothing recorded). A claim released with a version is settled, not
// deleted: it no longer keeps any worker from claiming the message, but Due does not list the
// message until the queue has applied that version, or until settleUntil at the latest (a
// projection that fell far behind). Settled claims past settleUntil are deleted here too.
func (q *DeliveryQueue) Release(ctx context.Context, released map[string]int64, owner string, now, settleUntil time.Time) error {
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
		if _, err := q.db.ExecContext(ctx, `DELETE FROM delivery_leases WHERE owner = ? AND message_id IN (`+inList(len(drop))+`)`, args...); err != nil {
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
			WHERE owner = ? AND message_id IN (`+inList(len(settle))+`)`, args...); err != nil {
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
func (q *DeliveryQueue) ExpiredHolds(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT message_id FROM delivery_queue WHERE status = ? AND hold_expires_us <= ?
		ORDER BY hold_expires_us LIMIT ?`, deliveryqueue.StatusHeld, now.UTC().UnixMicro(), limit)
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
func (q *DeliveryQueue) Stats(ctx context.Context) (depth int64, oldestUS int64, err error) {
	var oldest sql.NullInt64
	err = q.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(queued_us) FROM delivery_queue WHERE status IN (?, ?)`,
		deliveryqueue.StatusQueued, deliveryqueue.StatusDeferred).Scan(&depth, &oldest)
	if err != nil {
		return 0, 0, fmt.Errorf("deliveryqueue: stats: %w", err)
	}
	return depth, oldest.Int64, nil
}

// inList is "?,?,…" for n values of an IN list.
func inList(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }
