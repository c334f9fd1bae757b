// Package mariadbtest gives each test its own freshly migrated MariaDB database on the server
// named by POSTHASTE_TEST_MYSQL_DSN (default "root@tcp(127.0.0.1:3306)/"), dropped when the test
// ends. A missing server fails the test; it never skips.
//
// It is for tests only and must not be imported by non-test code.
package mariadbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/posthaste/posthaste/adapters/mariadb"
	"github.com/posthaste/posthaste/migrations"
)

// DefaultDSN is used when POSTHASTE_TEST_MYSQL_DSN is unset.
const DefaultDSN = "root@tcp(127.0.0.1:3306)/"

// ServerDSN returns the DSN of the test server (no database selected).
func ServerDSN() string {
	if v := os.Getenv("POSTHASTE_TEST_MYSQL_DSN"); v != "" {
		return v
	}
	return DefaultDSN
}

// EmptyDSN creates a uniquely named empty database, drops it in t.Cleanup, and returns its DSN
// (parseTime=true, UTC).
func EmptyDSN(t testing.TB) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(ServerDSN())
	if err != nil {
		t.Fatalf("mariadbtest: POSTHASTE_TEST_MYSQL_DSN: %v", err)
	}
	cfg.DBName = ""
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("mariadbtest: open server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("mariadbtest: random name: %v", err)
	}
	name := "posthaste_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		admin.Close()
		t.Fatalf("mariadbtest: create database (is MariaDB running at %s?): %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("mariadbtest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// DSN returns the DSN of a fresh, fully migrated database dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := EmptyDSN(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("mariadbtest: open: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := migrations.Up(ctx, db, migrations.DialectMySQL); err != nil {
		t.Fatalf("mariadbtest: %v", err)
	}
	return dsn
}

// DB opens a fresh, fully migrated database, closed and dropped when the test ends.
func DB(t testing.TB) *sql.DB {
	t.Helper()
	return open(t, DSN(t))
}

// Store opens a mariadb.Store on a fresh, fully migrated database, closed and dropped when the
// test ends (the store closes before the database is dropped).
func Store(t testing.TB, opts ...mariadb.Option) *mariadb.Store {
	t.Helper()
	dsn := DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := mariadb.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("mariadbtest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("mariadbtest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
