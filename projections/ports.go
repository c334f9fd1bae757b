// Package projections is the read side's contract and its read models: each projection turns
// events into a read model (the subpackages), applied through a small transaction port (Tx)
// together with its checkpoint, exactly once per event.
//
// It imports only events and the standard library, and names no driver and no database: the
// engine that runs projections (the runner with its gap fill, catch-up and dead letters,
// replay, checksum, status) and the job queues built on read models (delivery and webhook
// leases) live in adapters/sqlstore, which implements Tx for each database. A projection must
// not perform side effects outside its transaction: webhook calls and the like live in
// adapters, driven by a projection's read model.
package projections

import (
	"context"

	"github.com/posthaste/posthaste/events"
)

// Reader reads the event log. domain.EventStore satisfies it.
// ReadStream returns a stream's events with version >= fromVersion in version order;
// ReadAll returns up to limit positioned events with position > after, in position order.
type Reader interface {
	ReadStream(ctx context.Context, streamType, streamID string, fromVersion int64) ([]events.Record, error)
	ReadAll(ctx context.Context, after int64, limit int) ([]events.Record, error)
}

// Delivery is one record handed to a projection's consumer by the bus.
// The consumer calls exactly one of Ack (applied or skipped) or DeadLetter (poison: moved to the
// projection's dead-letter queue, kept for the operator). It never requeues.
type Delivery struct {
	Record     events.Record
	Ack        func() error
	DeadLetter func(reason error) error
}

// Subscriber connects a projection to its own durable queue on the bus.
//
// Contract: Subscribe returns a channel of deliveries for the named projection's queue; the
// channel is closed when ctx ends or the connection is lost for good. Delivery is at least once
// and possibly reordered. Reconnected is signalled (a value sent) after every reconnect to the
// broker, so the runner can reconcile from the store (the broker may have been wiped).
type Subscriber interface {
	Subscribe(ctx context.Context, projection string) (deliveries <-chan Delivery, reconnected <-chan struct{}, err error)
}

// Projection turns events into a read model.
//
// Contract: Apply is called inside a transaction that also records the checkpoint, exactly once
// per event in stream-version order within each stream (events of different streams may come in
// any order). It must be deterministic: replaying the log gives the same rows. It returns an error
// only for a poison event (the runner dead-letters it) or a database failure (the transaction is
// rolled back and retried).
type Projection interface {
	// Name is stable: it names the queue, the checkpoints and the replay target.
	Name() string
	// Tables lists the read-model tables the projection owns, for checksum and rebuild.
	Tables() []string
	Apply(ctx context.Context, tx Tx, rec events.Record) error
}

// Retargetable is an optional interface of a Projection whose SQL can be pointed at other
// tables. A replay then builds the new model in real tables beside the live ones (created like
// them but without their non-unique secondary indexes, which are added once the rows are in)
// and swaps them in by renaming, instead of building in temporary tables and copying every row
// into the live ones.
//
// Contract: WithTables returns a projection with the same Name whose Apply (and Flush, when it
// is Buffered) reads and writes only the tables named by tables (keyed by the live names of
// Tables()) and reads them only by primary key.
type Retargetable interface {
	WithTables(tables map[string]string) Projection
}
