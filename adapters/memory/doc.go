// Package memory holds in-process implementations of ports: the bus, the locker and the counter
// used by the embedded default (`posthaste serve` with no URLs: everything runs in one process),
// and an event store for tests and tools.
//
// Bus implements domain.Publisher and projections.Subscriber with the guarantees of the
// RabbitMQ adapter, in memory: topology first, never drop (Publish returns after every declared
// projection queue holds the record), at-least-once delivery with manual ack, poison records
// kept in a per-projection dead-letter queue. Locker grants each lock name to one holder at a
// time within the process. Counter is the rolling rate-limit counter of one process.
//
// EventStore implements domain.EventStore and domain.Outbox with their whole contract (it
// passes domain/eventstoretest, as the SQL store does on both databases) for tests and tools
// that want the event log without a database. It is not durable: serve never uses it (the
// embedded default keeps its event log in SQLite).
//
// It must not persist anything: what it holds is lost when the process ends. For the bus,
// locker and counter that is safe because the event store's outbox keeps every record until the
// relay acked it, projections reconcile from the store at start, and a lost count only lets a
// rate limit through.
package memory
