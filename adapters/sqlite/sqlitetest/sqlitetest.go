// Package sqlitetest gives each test its own freshly migrated SQLite file in t.TempDir(),
// removed when the test ends.
//
// It is for tests only and must not be imported by non-test code.
package sqlitetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlite"
)

// Path returns the path of a fresh, fully migrated SQLite file in the test's temp dir.
func Path(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "posthaste.db")
	s := open(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("sqlitetest: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("sqlitetest: close after migrating: %v", err)
	}
	return path
}

// Store opens a sqlite.Store on a fresh, fully migrated file, closed when the test ends.
func Store(t testing.TB, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s := open(t, Path(t), opts...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// DB returns the writer connection of a fresh, fully migrated file (the same *sql.DB that
// sqlite.Store.DB returns), closed when the test ends.
func DB(t testing.TB) *sql.DB {
	t.Helper()
	return Store(t).DB()
}

func open(t testing.TB, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := sqlite.Open(ctx, path, opts...)
	if err != nil {
		t.Fatalf("sqlitetest: %v", err)
	}
	return s
}
