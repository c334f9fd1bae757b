// Package sqlstore is Posthaste's one SQL store, for MariaDB (production) and SQLite (the
// embedded default): the event store and its outbox, message bodies and transcripts, secrets,
// inbound reports, the HTTP API's own rows, the projection engine (runner, replay, checksum,
// status) and the job queues (delivery and webhook leases).
//
// Everything is written once. Every difference between the two databases (DSN, connection
// pools, upserts, insert-ignore, locks, savepoints, driver error classes) lives behind Dialect,
// in two files: mariadb.go and sqlite.go. No other file names a driver or branches on a
// dialect.
//
// Storage (store.go and the files it names): every write that must be durable together is
// one transaction, group-committed (groupcommit.go), and an event's position is gap-free and
// monotonic in commit order: given at insert under SQLite's single writer, stamped by the relay
// on MariaDB (Dialect.positionsAtInsert). The store must not change the database's durability
// settings (InnoDB's flush at commit, SQLite's synchronous=FULL), must not show auto-increment
// values to followers, and never logs bodies or secret values.
package sqlstore
