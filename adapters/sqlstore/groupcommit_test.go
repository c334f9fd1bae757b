package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/submission"
	"github.com/posthaste/posthaste/events"
)

// A group in which one caller clashes with another caller of the same group and one clashes
// with a stored event: only those two fail, with the typed conflict, and nothing of theirs is
// written; the other callers' events are, and their positions stay gap-free.
func TestGroupCommitIsolatesConflictingCallers(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		if err := s.Append(ctx, envAt("stored", 1)); err != nil {
			t.Fatal(err)
		}
		errs := sqlstore.CommitGroup(s,
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
			if got := count(t, s, stream); got != n {
				t.Errorf("stream %s: %d events, want %d", stream, got, n)
			}
		}
		if _, err := s.Pending(ctx, 1); err != nil { // stamp, where the relay gives positions
			t.Fatal(err)
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
	})
}

// Concurrent appends share transactions: 64 callers through one committer take far fewer
// than 64 transactions, and every caller still gets its own success.
func TestGroupCommitBatchesConcurrentCallers(t *testing.T) {
	for _, b := range sqlstoretest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t, sqlstore.WithCommitters(1))
			ctx := context.Background()
			before := sqlstore.Groups(s)
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
			groups := sqlstore.Groups(s) - before
			if groups >= 32 {
				t.Errorf("64 concurrent appends took %d transactions, want them grouped (< 32)", groups)
			}
			t.Logf("64 concurrent appends in %d transactions", groups)
			recs, err := s.Query(ctx, domain.EventFilter{})
			if err != nil || len(recs) != 64 {
				t.Fatalf("stored %d events (%v), want 64", len(recs), err)
			}
		})
	}
}

// What a request writes beside its events (an acceptance's body, an attempt's transcript)
// shares the caller's fate: if it fails, nothing of the caller is written; if the caller's
// events clash, it is rolled back too. Other callers are not affected.
func TestExtraWorkSharesTheCallersFate(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		body := submission.Acceptance{SubmissionID: "sub-1", ServerID: "srv", BodyID: "body-1", Body: []byte("b"),
			Events: []events.Envelope{envAt("w", 1)}}
		if err := s.Accept(ctx, body); err != nil {
			t.Fatal(err)
		}
		again := body // the same body id: the body cannot be stored
		again.Events = []events.Envelope{envAt("x", 1)}
		if err := s.Accept(ctx, again); err == nil || errors.Is(err, domain.ErrConflict) || !strings.Contains(err.Error(), "store body") {
			t.Fatalf("failing extra work: %v, want the body's error", err)
		}
		if err := s.AppendWithTranscript(ctx, "y", 1, "transcript y.1", envAt("y", 1)); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendWithTranscript(ctx, "y", 2, "transcript y.2", envAt("y", 1)); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("clashing append: %v, want a conflict", err)
		}
		var n int
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM transcripts`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("transcripts = %d (%v), want only the successful caller's", n, err)
		}
		if text, err := s.Transcript(ctx, "y.1"); err != nil || text != "transcript y.1" {
			t.Fatalf("transcript y.1 = %q, %v", text, err)
		}
		if count(t, s, "x") != 0 || count(t, s, "y") != 1 || count(t, s, "w") != 1 {
			t.Fatal("events of the failed callers were written")
		}
	})
}
