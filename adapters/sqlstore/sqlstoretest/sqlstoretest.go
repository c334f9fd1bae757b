// Package sqlstoretest gives each test its own freshly migrated database: a SQLite file in
// t.TempDir(), or a MariaDB database on the server named by POSTHASTE_TEST_MYSQL_DSN (default
// "root@tcp(127.0.0.1:3306)/"), dropped when the test ends. A missing MariaDB server fails the
// test; it never skips. Each runs a test on both backends.
//
// It is for tests only and must not be imported by non-test code.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/migrations"
)

// Backend opens a fresh, migrated store of one database for a test, closed (and dropped) when
// the test ends.
type Backend struct {
	Name string // "sqlite" or "mariadb"
	Open func(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store
}

// Backends are both databases, SQLite first.
var Backends = []Backend{{"sqlite", SQLite}, {"mariadb", MariaDB}}

// Each runs f as a subtest named after each backend, on a fresh store of it.
func Each(t *testing.T, f func(t *testing.T, s *sqlstore.Store)) {
	t.Helper()
	for _, b := range Backends {
		t.Run(b.Name, func(t *testing.T) { f(t, b.Open(t)) })
	}
}

// SQLitePath returns the path of a fresh, fully migrated SQLite file in the test's temp dir.
func SQLitePath(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "posthaste.db")
	s := openSQLite(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("sqlstoretest: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("sqlstoretest: close after migrating: %v", err)
	}
	return path
}

// SQLite opens a store on a fresh, fully migrated SQLite file, closed when the test ends.
func SQLite(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s := openSQLite(t, SQLitePath(t), opts...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// SQLiteDB returns the writer connection of a fresh, fully migrated SQLite file (the same
// *sql.DB that Store.DB returns), closed when the test ends.
func SQLiteDB(t testing.TB) *sql.DB {
	t.Helper()
	return SQLite(t).DB()
}

func openSQLite(t testing.TB, path string, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlstore.OpenSQLite(ctx, path, opts...)
	if err != nil {
		t.Fatalf("sqlstoretest: %v", err)
	}
	return s
}

// DefaultMariaDBServer is used when POSTHASTE_TEST_MYSQL_DSN is unset.
const DefaultMariaDBServer = "root@tcp(127.0.0.1:3306)/"

// MariaDBServerDSN returns the DSN of the test server (no database selected).
func MariaDBServerDSN() string {
	if v := os.Getenv("POSTHASTE_TEST_MYSQL_DSN"); v != "" {
		return v
	}
	return DefaultMariaDBServer
}

// MariaDBEmptyDSN creates a uniquely named empty database, drops it in t.Cleanup, and returns
// its DSN (parseTime=true, UTC).
func MariaDBEmptyDSN(t testing.TB) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(MariaDBServerDSN())
	if err != nil {
		t.Fatalf("sqlstoretest: POSTHASTE_TEST_MYSQL_DSN: %v", err)
	}
	cfg.DBName = ""
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("sqlstoretest: open server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("sqlstoretest: random name: %v", err)
	}
	name := "posthaste_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatalf("sqlstoretest: create database (is MariaDB running at %s?): %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("sqlstoretest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// MariaDBDSN returns the DSN of a fresh, fully migrated database dropped when the test ends.
func MariaDBDSN(t testing.TB) string {
	t.Helper()
	dsn := MariaDBEmptyDSN(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("sqlstoretest: open: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := migrations.Up(ctx, db, migrations.DialectMySQL); err != nil {
		t.Fatalf("sqlstoretest: %v", err)
	}
	return dsn
}

// MariaDB opens a store on a fresh, fully migrated database, closed and dropped when the test
// ends (the store closes before the database is dropped).
func MariaDB(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	dsn := MariaDBDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlstore.OpenMariaDB(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("sqlstoretest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// MariaDBDB opens a plain pool on a fresh, fully migrated database (no store), closed and
// dropped when the test ends.
func MariaDBDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", MariaDBDSN(t))
	if err != nil {
		t.Fatalf("sqlstoretest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
