// Package memory holds the in-process implementations of the bus and the locker used by the
// embedded default (`posthaste serve` with no URLs): everything runs in one process.
//
// Bus implements domain.Publisher and projections.Subscriber with the guarantees of the
// RabbitMQ adapter, in memory: topology first, never drop (Publish returns after every declared
// projection queue holds the record), at-least-once delivery with manual ack, poison records
// kept in a per-projection dead-letter queue. Locker grants each lock name to one holder at a
// time within the process.
//
// It must not persist anything: what it holds is lost when the process ends, which is safe
// because the event store's outbox keeps every record until the relay acked it, and projections
// reconcile from the store at start.
package memory
