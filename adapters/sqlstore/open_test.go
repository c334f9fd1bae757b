package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
)

// The shipped SQLite defaults are the durable ones: WAL and synchronous=FULL on the writer.
func TestSQLiteDurableDefaults(t *testing.T) {
	db := sqlstoretest.SQLite(t).DB()
	var mode string
	var syncLevel, timeout int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA synchronous").Scan(&syncLevel); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA busy_timeout").Scan(&timeout); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || syncLevel != 2 || timeout < 1000 {
		t.Fatalf("journal_mode=%s synchronous=%d busy_timeout=%d, want wal, 2 (FULL), >= 1000", mode, syncLevel, timeout)
	}
}

// Events survive closing and reopening the SQLite file (what a restart of `posthaste serve` does).
func TestSQLiteReopenKeepsEventsAndPositions(t *testing.T) {
	path := sqlstoretest.SQLitePath(t)
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, envAt("a", 1), envAt("a", 2)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(ctx, envAt("a", 3)); err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(ctx, 0, 10)
	if err != nil || len(all) != 3 || all[2].Position != 3 {
		t.Fatalf("after reopening: %d events, %v", len(all), err)
	}
}

func TestOpenSQLiteRefusesEmptyPathAndMissingDir(t *testing.T) {
	if _, err := sqlstore.OpenSQLite(context.Background(), ""); err == nil {
		t.Error("OpenSQLite(\"\"): want an error")
	}
	if _, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")); err == nil {
		t.Error("OpenSQLite in a missing directory: want an error")
	}
}

func TestOpenMariaDBRefusesDSNWithoutDatabase(t *testing.T) {
	if _, err := sqlstore.OpenMariaDB(context.Background(), "root@tcp(127.0.0.1:3306)/"); err == nil {
		t.Fatal("OpenMariaDB without a database name: want an error")
	}
}
