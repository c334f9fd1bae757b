// Package deliveryqueue is the read model of pending delivery work: one row per message that
// may still be attempted (queued, held, deferred), built from message events, so the queue is
// rebuilt from the event log after any crash.
//
// It owns table delivery_queue and nothing else. The workers' questions (what is due, claim it,
// whose hold expired) are answered over it by the job queue of adapters/sqlstore (DeliveryQueue),
// whose claims live in a separate lease table that is not part of the projection (leases are
// ephemeral and never rebuilt). It performs no delivery itself: domain/delivery does.
package deliveryqueue

import (
	"context"
	"math"
	"strings"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Name is the projection's stable name (queue, checkpoints, replay target).
const Name = "delivery_queue"

// Table is the read model: one row per message that may still be attempted.
const Table = "delivery_queue"

// Row statuses.
const (
	StatusQueued   = "queued"
	StatusHeld     = "held"
	StatusDeferred = "deferred"
)

// Projection maintains table delivery_queue.
type Projection struct{}

func (Projection) Name() string     { return Name }
func (Projection) Tables() []string { return []string{Table} }

// queuedColumns are the columns of a new delivery_queue row.
var queuedColumns = []string{"message_id", "server_id", "rcpt_domain", "body_id", "status", "attempts", "next_attempt_us",
	"queued_us", "version"}

// Apply folds one message event into the queue. Times are stored as UTC unix microseconds so
// every database compares them the same way.
func (Projection) Apply(ctx context.Context, tx projections.Tx, rec events.Record) error {
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
		return tx.InsertIgnore(ctx, Table, queuedColumns,
			[][]any{{env.StreamID, env.Server(), domainOf(e.RcptTo), e.BodyID, StatusQueued, 0, at, at, v}})
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

// heldNextAttempt is a held row's next attempt: never, until released, so the due listing's
// index range (next_attempt_us <= now) never walks over held messages.
const heldNextAttempt = math.MaxInt64

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}
