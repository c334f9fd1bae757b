package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlite"
	"github.com/posthaste/posthaste/adapters/sqlite/sqlitetest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

func envAt(streamID string, version int64) events.Envelope {
	at := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	return events.Envelope{
		ID: events.NewID(at, nil), Type: "message.queued", SchemaVersion: 1,
		StreamType: events.StreamMessage, StreamID: streamID, StreamVersion: version,
		OccurredAt: at, Actor: events.Actor{Type: events.ActorSystem, ID: "test"},
		Payload: json.RawMessage(`{}`),
	}
}

func count(t *testing.T, s *sqlite.Store, stream string) int {
	t.Helper()
	recs, err := s.ReadStream(context.Background(), events.StreamMessage, stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

// The shipped defaults are the durable ones: WAL and synchronous=FULL on the writer.
func TestDurableDefaults(t *testing.T) {
	db := sqlitetest.Store(t).DB()
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

// A group in which callers clash with each other and with stored events: each clashing caller
// alone fails, its savepoint rolled back; positions of the others stay gap-free.
func TestGroupCommitIsolatesConflictingCallers(t *testing.T) {
	s := sqlitetest.Store(t)
	ctx := context.Background()
	if err := s.Append(ctx, envAt("stored", 1)); err != nil {
		t.Fatal(err)
	}
	errs := sqlite.CommitGroup(s,
		[]events.Envelope{envAt("a", 1), envAt("shared", 1)},
		[]events.Envelope{envAt("b", 1), envAt("shared", 1)},
		[]events.Envelope{envAt("c", 1)},
		[]events.Envelope{envAt("d", 1), envAt("stored", 1)},
		[]events.Envelope{envAt("e", 1), envAt("e", 2)},
	)
	for i, want := range []string{"", "shared", "", "stored", ""} {
		var ce *domain.ConflictError
		switch {
		case want == "" && errs[i] != nil:
			t.Errorf("caller %d: %v, want success", i, errs[i])
		case want != "" && (!errors.As(errs[i], &ce) || ce.StreamID != want):
			t.Errorf("caller %d: %v, want a conflict on %s", i, errs[i], want)
		}
	}
	for stream, n := range map[string]int{"a": 1, "b": 0, "c": 1, "d": 0, "e": 2, "shared": 1} {
		if got := count(t, s, stream); got != n {
			t.Errorf("stream %s: %d events, want %d", stream, got, n)
		}
	}
	all, err := s.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range all {
		if r.Position != int64(i+1) {
			t.Fatalf("positions %v: want 1..%d without gaps", all, len(all))
		}
	}
	if len(all) != 6 {
		t.Fatalf("log holds %d events, want 6", len(all))
	}
}

// appendWith's extra work shares the caller's fate: if it fails nothing of the caller is
// written; if the caller's events clash, the extra work is rolled back too.
func TestAppendWithRunsInTheCallersSavepoint(t *testing.T) {
	s := sqlitetest.Store(t)
	ctx := context.Background()
	if _, err := s.DB().Exec(`CREATE TABLE side (id TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(id string) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO side (id) VALUES (?)`, id)
			return err
		}
	}
	boom := errors.New("boom")
	if err := sqlite.AppendWith(ctx, s, []events.Envelope{envAt("x", 1)}, func(*sql.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("failing extra work: %v, want boom", err)
	}
	if err := sqlite.AppendWith(ctx, s, []events.Envelope{envAt("y", 1)}, insert("y")); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.AppendWith(ctx, s, []events.Envelope{envAt("y", 1)}, insert("y-again")); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("clashing append: %v, want a conflict", err)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM side`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("side rows = %d (%v), want only the successful caller's", n, err)
	}
	if count(t, s, "x") != 0 || count(t, s, "y") != 1 {
		t.Fatal("events of the failed callers were written")
	}
}

func TestAppendAfterCloseFails(t *testing.T) {
	s, err := sqlite.Open(context.Background(), sqlitetest.Path(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), envAt("late", 1)); !errors.Is(err, sqlite.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
}

// Events survive closing and reopening the file (what a restart of `posthaste serve` does).
func TestReopenKeepsEventsAndPositions(t *testing.T) {
	path := sqlitetest.Path(t)
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, envAt("a", 1), envAt("a", 2)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, path)
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

func TestOpenRefusesEmptyPathAndMissingDir(t *testing.T) {
	if _, err := sqlite.Open(context.Background(), ""); err == nil {
		t.Error("Open(\"\"): want an error")
	}
	if _, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")); err == nil {
		t.Error("Open in a missing directory: want an error")
	}
}
