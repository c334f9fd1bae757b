// Package sqlite is the embedded default event store: domain.EventStore and domain.Outbox on a
// SQLite file (modernc.org/sqlite, pure Go) in WAL mode with synchronous=FULL.
//
// SQLite serializes writers, so the store writes through one connection and assigns each
// event's position at insert (position = seq): gap-free and monotonic in commit order by
// construction. Concurrent appends are group-committed: one transaction, one savepoint per
// caller. Reads go through a separate read-only pool, so they never wait for the writer. It owns the events and outbox tables (schema in migrations/sqlite) and must not
// import other adapters or weaken durability (synchronous stays FULL).
package sqlite
