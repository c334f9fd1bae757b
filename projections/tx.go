package projections

import (
	"context"
	"database/sql"
)

// Tx is the transaction a projection applies in: the runner's, shared with the projection's
// checkpoint, so what Apply writes commits (or rolls back) with it. The SQL store implements it
// for each database it runs on.
//
// ExecContext, QueryContext and QueryRowContext run a statement in the transaction ("?"
// placeholders). Their SQL must mean the same on every database the store supports (plain
// SELECT, INSERT, UPDATE, DELETE); what is written differently per database goes through the
// helpers below.
//
// InsertIgnore and Upsert write rows (each a value per column, in column order) with multi-row
// statements, in chunks that stay below every database's limit on placeholders; no rows is a
// no-op. They fail only on the database, or on a column without a valid Conflict rule.
type Tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row

	// InsertIgnore inserts rows into table, skipping those whose primary key (or another
	// unique key) already exists: the stored row stays as it is.
	InsertIgnore(ctx context.Context, table string, columns []string, rows [][]any) error
	// Upsert inserts rows into table; where a row's key (the columns marked Key: the table's
	// primary key, and the table must have no other unique key) exists, the stored row is
	// merged column by column as each column's Conflict rule says. A column list whose every
	// non-key column is Keep still writes the existing row, so it stays locked by this
	// transaction (InsertIgnore may not lock it).
	Upsert(ctx context.Context, table string, columns []Column, rows [][]any) error
}

// Column is one column of an Upsert: its name and what happens to it when the row's key exists.
type Column struct {
	Name string
	On   Conflict
}

// Conflict is what Upsert does with a column of a row whose key exists. The zero value is not
// a rule: Upsert refuses it.
type Conflict uint8

const (
	// Key marks a column of the table's primary key: it identifies the row.
	Key Conflict = iota + 1
	// Replace takes the new value.
	Replace
	// Add stores the stored value plus the new one (counters).
	Add
	// Keep keeps the stored value (the new one is used only when the row is inserted).
	Keep
)
