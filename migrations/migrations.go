// Package migrations owns Posthaste's SQL schema: forward-only goose migrations for MariaDB
// (mariadb/*.sql) and SQLite (sqlite/*.sql), embedded in the binary and named by timestamp.
//
// Every package that needs tables adds its own timestamped files to both folders; Up applies
// everything embedded, in version order. This package must not hold queries or behaviour beyond
// applying the schema, and a shipped file is never edited (see README.md).
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
)

// Dialects accepted by Up.
const (
	DialectMySQL  = "mysql"
	DialectSQLite = "sqlite"
)

//go:embed mariadb/*.sql sqlite/*.sql
var files embed.FS

// FS returns the embedded migrations of one dialect ("mysql" or "sqlite").
func FS(dialect string) (fs.FS, error) {
	dir, _, err := resolve(dialect)
	if err != nil {
		return nil, err
	}
	return fs.Sub(files, dir)
}

func resolve(dialect string) (string, goose.Dialect, error) {
	switch dialect {
	case DialectMySQL:
		return "mariadb", goose.DialectMySQL, nil
	case DialectSQLite:
		return "sqlite", goose.DialectSQLite3, nil
	default:
		return "", "", fmt.Errorf("migrations: unknown dialect %q (want %q or %q)", dialect, DialectMySQL, DialectSQLite)
	}
}

// Up applies every embedded migration of the dialect that db has not applied yet, in version
// order, recording them in goose's version table. It is safe to call on an up-to-date database.
func Up(ctx context.Context, db *sql.DB, dialect string) error {
	if db == nil {
		return errors.New("migrations: up: nil *sql.DB")
	}
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	if dialect == DialectMySQL {
		// Several nodes may start at once against one MariaDB: let one migrate at a time.
		unlock, err := mysqlLock(ctx, db)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: up %s: %w", dialect, err)
	}
	return nil
}

// lockWait is how long Up waits for another node's migration (MariaDB named lock
// posthaste_migrate.<database>).
const lockWait = 120 // seconds

// mysqlLock takes a MariaDB named lock on a dedicated connection and returns its release.
func mysqlLock(ctx context.Context, db *sql.DB) (func(), error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: lock: %w", err)
	}
	var got sql.NullInt64
	err = conn.QueryRowContext(ctx, `SELECT GET_LOCK(CONCAT('posthaste_migrate.', COALESCE(DATABASE(), '')), ?)`, lockWait).Scan(&got)
	if err != nil || got.Int64 != 1 {
		conn.Close()
		if err == nil {
			err = fmt.Errorf("another node held it for %ds", lockWait)
		}
		return nil, fmt.Errorf("migrations: lock: %w", err)
	}
	return func() {
		// A fresh context: the caller's may be done, and the lock must not outlive the call.
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(rctx, `SELECT RELEASE_LOCK(CONCAT('posthaste_migrate.', COALESCE(DATABASE(), '')))`)
		conn.Close()
	}, nil
}

// Pending reports how many embedded migrations db has not applied yet (for `posthaste status`).
func Pending(ctx context.Context, db *sql.DB, dialect string) (int, error) {
	if db == nil {
		return 0, errors.New("migrations: pending: nil *sql.DB")
	}
	p, err := provider(db, dialect)
	if err != nil {
		return 0, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: status %s: %w", dialect, err)
	}
	n := 0
	for _, s := range st {
		if s.State == goose.StatePending {
			n++
		}
	}
	return n, nil
}

func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	dir, gd, err := resolve(dialect)
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(files, dir)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", dir, err)
	}
	p, err := goose.NewProvider(gd, db, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", dialect, err)
	}
	return p, nil
}
