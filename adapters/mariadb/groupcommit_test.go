package mariadb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/posthaste/posthaste/adapters/mariadb"
	"github.com/posthaste/posthaste/adapters/mariadb/mariadbtest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

func envAt(streamID string, version int64) events.Envelope {
	e := testEnv(streamID)
	e.StreamVersion = version
	return e
}

// A group in which one caller clashes with another caller of the same group and one clashes
// with a stored event: only those two fail, with the typed conflict, and nothing of theirs is
// written; the other callers' events are.
func TestGroupCommitIsolatesConflictingCallers(t *testing.T) {
	s := mariadbtest.Store(t)
	ctx := context.Background()
	if err := s.Append(ctx, envAt("stored", 1)); err != nil {
		t.Fatal(err)
	}
	errs := mariadb.CommitGroup(s,
		[]events.Envelope{envAt("a", 1), envAt("shared", 1)},
		[]events.Envelope{envAt("b", 1), envAt("shared", 1)}, // clashes with the caller before it
		[]events.Envelope{envAt("c", 1)},
		[]events.Envelope{envAt("d", 1), envAt("stored", 1)}, // clashes with the stored event
		[]events.Envelope{envAt("e", 1), envAt("e", 2)},
	)
	for i, want := range []string{"", "shared", "", "stored", ""} {
		var ce *domain.ConflictError
		switch {
		case want == "" && errs[i] != nil:
			t.Errorf("caller %d: %v, want success", i, errs[i])
		case want != "" && (!errors.As(errs[i], &ce) || ce.StreamID != want || ce.StreamVersion != 1):
			t.Errorf("caller %d: %v, want a conflict on %s@1", i, errs[i], want)
		}
	}
	for stream, n := range map[string]int{"a": 1, "b": 0, "c": 1, "d": 0, "e": 2, "shared": 1, "stored": 1} {
		recs, err := s.ReadStream(ctx, events.StreamMessage, stream, 1)
		if err != nil || len(recs) != n {
			t.Errorf("stream %s: %d events (%v), want %d", stream, len(recs), err, n)
		}
	}
}

// Concurrent appends share transactions: 64 callers through one committer take far fewer
// than 64 transactions, and every caller still gets its own success.
func TestGroupCommitBatchesConcurrentCallers(t *testing.T) {
	s := mariadbtest.Store(t, mariadb.WithCommitters(1))
	ctx := context.Background()
	before := mariadb.Groups(s)
	var wg sync.WaitGroup
	errs := make([]error, 64)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Append(ctx, envAt(fmt.Sprintf("g-%d", i), 1))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	groups := mariadb.Groups(s) - before
	if groups >= 32 {
		t.Errorf("64 concurrent appends took %d transactions, want them grouped (< 32)", groups)
	}
	t.Logf("64 concurrent appends in %d transactions", groups)
	recs, err := s.Query(ctx, domain.EventFilter{})
	if err != nil || len(recs) != 64 {
		t.Fatalf("stored %d events (%v), want 64", len(recs), err)
	}
}

func TestAppendAfterCloseFails(t *testing.T) {
	s, err := mariadb.Open(context.Background(), mariadbtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), envAt("late", 1)); !errors.Is(err, mariadb.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
}

func TestOpenRefusesDSNWithoutDatabase(t *testing.T) {
	if _, err := mariadb.Open(context.Background(), "root@tcp(127.0.0.1:3306)/"); err == nil {
		t.Fatal("Open without a database name: want an error")
	}
}

func TestPing(t *testing.T) {
	if err := mariadbtest.Store(t).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
