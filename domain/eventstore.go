package domain

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posthaste/posthaste/events"
)

// ErrConflict is matched (errors.Is) by every *ConflictError.
var ErrConflict = errors.New("stream version conflict")

// ConflictError reports that an appended (stream_type, stream_id, stream_version) already exists:
// somebody else wrote to the stream since the caller read it. Nothing of the append was written.
type ConflictError struct {
	StreamType    string
	StreamID      string
	StreamVersion int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("append %s/%s@%d: %v", e.StreamType, e.StreamID, e.StreamVersion, ErrConflict)
}

func (e *ConflictError) Unwrap() error { return ErrConflict }

// EventStore is the event log: the source of truth.
//
// Contract (checked by domain/eventstoretest against every implementation):
//   - Append writes all given envelopes and one outbox row per envelope in ONE transaction: either
//     all are durable when it returns nil, or none is. Envelopes may span streams.
//   - If any (stream_type, stream_id, stream_version) already exists, Append returns a
//     *ConflictError (errors.Is(err, ErrConflict)) and writes nothing. Versions need not start
//     at 1 for the store, but callers append version n+1 after reading version n.
//   - An envelope that fails Validate is refused with an error before anything is written.
//   - Concurrent Appends from many goroutines may be grouped into one database transaction
//     (group commit); each caller still gets its own result, and a conflict in one caller's
//     envelopes never fails another caller's.
//   - ReadStream returns a stream's events with version >= fromVersion in version order, with
//     their positions (0 while not yet assigned).
//   - ReadAll returns up to limit events with position > after, in position order. Positions are
//     gap-free and monotonic in commit order: a follower that has seen position p and later asks
//     for > p never misses an event, even one whose transaction began earlier but committed later.
//     Events whose position is not yet assigned are not returned.
//   - Query returns events matching the filter: positioned ones in position order, then any not
//     yet positioned in append order.
type EventStore interface {
	Append(ctx context.Context, envs ...events.Envelope) error
	ReadStream(ctx context.Context, streamType, streamID string, fromVersion int64) ([]events.Record, error)
	ReadAll(ctx context.Context, after int64, limit int) ([]events.Record, error)
	Query(ctx context.Context, f EventFilter) ([]events.Record, error)
}

// EventFilter selects events for the audit trail. Zero fields do not filter.
type EventFilter struct {
	StreamType string
	StreamID   string
	ServerID   string
	Types      []string
	ActorType  string
	ActorID    string
	Since      time.Time // occurred_at >= Since
	Until      time.Time // occurred_at < Until
	After      int64     // position > After
	Limit      int       // 0 = the store's default (1000)
}

// Outbox is the publishing side of the event store, used by the single active relay.
//
// Contract:
//   - Pending assigns positions (gap-free, monotonic in commit order) to committed events that
//     have none, then returns up to limit outbox entries in position order. Calling it again
//     before Ack returns the same entries (possibly more).
//   - Ack deletes the outbox rows of the given positions. Callers Ack only after the broker
//     confirmed every one of them. Acking an unknown position is not an error.
//   - Two relays overlapping for a moment may both publish an entry (consumers skip duplicates)
//     but never assign two positions to one event or one position to two events.
type Outbox interface {
	Pending(ctx context.Context, limit int) ([]events.Record, error)
	Ack(ctx context.Context, positions []int64) error
}

// Publisher puts records on the bus.
//
// Contract: Publish returns nil only when the broker has confirmed every record as durably
// enqueued in every bound queue (publisher confirms; pipelined, many in flight). On error some
// records may have been published: the caller publishes them all again (consumers skip duplicates).
// The topology (exchange, every projection queue, dead-letter queues) exists before the first
// publish.
type Publisher interface {
	Publish(ctx context.Context, recs []events.Record) error
}

// Locker grants leadership for leader-only work (the outbox relay, schedulers).
//
// Contract: TryLock returns a Lease when the named lock was free (or expired). The lease is
// renewed in the background until Release or ctx ends; Lost() is closed when renewal fails
// and the holder must stop leader work. Correctness never depends on the lock alone: two
// holders overlapping for a moment must be harmless.
type Locker interface {
	TryLock(ctx context.Context, name string, ttl time.Duration) (Lease, bool, error)
}

// Lease is a held lock.
type Lease interface {
	Lost() <-chan struct{}
	Release(ctx context.Context) error
}

// Clock returns the current time; injected so tests can pin it.
type Clock func() time.Time
