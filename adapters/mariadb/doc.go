// Package mariadb is the production event store: domain.EventStore and domain.Outbox on MariaDB
// (InnoDB, durable defaults), with group commit for concurrent appends and gap-free positions
// stamped by the outbox relay.
//
// It owns the events and outbox tables (schema in migrations/mariadb). It must not import other
// adapters, must not change server durability settings (innodb_flush_log_at_trx_commit stays as
// the operator set it), and must not expose auto-increment values to followers.
package mariadb
