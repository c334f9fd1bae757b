// Package sqlstore is Posthaste's one SQL store, for MariaDB (production) and SQLite (the
// embedded default): the event store and its outbox, message bodies and transcripts, secrets,
// inbound reports, the HTTP API's own rows, the projection engine (runner, replay, checksum,
// status) and the job queues (delivery and webhook leases).
//
// Everything is written once. Every difference between the two databases (DSN, connection
// pools, upserts, insert-ignore, locks, savepoints, driver error classes) lives behind Dialect,
// in two files: mariadb.go and sqlite.go. No other file names a driver or branches on a
// dialect.
package sqlstore
