package migrations_test

import (
	"context"
	"database/sql"
	"io/fs"
	"slices"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/migrations"
)

// Both dialects ship the same files: nothing may exist on one backend and not the other.
func TestDialectsShipSameFiles(t *testing.T) {
	names := func(d string) []string {
		f, err := migrations.FS(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fs.Glob(f, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	my, lite := names(migrations.DialectMySQL), names(migrations.DialectSQLite)
	if len(my) == 0 || !slices.Equal(my, lite) {
		t.Fatalf("mariadb files %v, sqlite files %v: want the same non-empty set", my, lite)
	}
}

func TestUpMariaDBFromScratchAndAgain(t *testing.T) {
	db := sqlstoretest.MariaDBDB(t) // already migrated once
	ctx := context.Background()
	if err := migrations.Up(ctx, db, migrations.DialectMySQL); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	n, err := migrations.Pending(ctx, db, migrations.DialectMySQL)
	if err != nil || n != 0 {
		t.Fatalf("pending = %d, %v; want 0", n, err)
	}
	for _, table := range []string{"events", "outbox"} {
		if _, err := db.ExecContext(ctx, "SELECT 1 FROM "+table+" LIMIT 1"); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func TestUpSQLiteFromScratchAndAgain(t *testing.T) {
	db := sqlstoretest.SQLiteDB(t)
	ctx := context.Background()
	if err := migrations.Up(ctx, db, migrations.DialectSQLite); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	n, err := migrations.Pending(ctx, db, migrations.DialectSQLite)
	if err != nil || n != 0 {
		t.Fatalf("pending = %d, %v; want 0", n, err)
	}
	for _, table := range []string{"events", "outbox"} {
		if _, err := db.ExecContext(ctx, "SELECT 1 FROM "+table+" LIMIT 1"); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func TestUpRefusesUnknownDialect(t *testing.T) {
	if err := migrations.Up(context.Background(), sqlstoretest.SQLiteDB(t), "postgres"); err == nil {
		t.Fatal("Up with dialect postgres: want an error")
	}
}

// Two nodes starting at once both succeed: one migrates, the other waits and finds it done.
func TestUpConcurrentOnOneMariaDB(t *testing.T) {
	dsn := sqlstoretest.MariaDBEmptyDSN(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db, err := sql.Open("mysql", dsn)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- migrations.Up(context.Background(), db, migrations.DialectMySQL)
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Up: %v", err)
		}
	}
}
