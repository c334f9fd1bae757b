package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

func testEnv(streamID string) events.Envelope {
	at := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	return events.Envelope{
		ID: events.NewID(at, nil), Type: "message.queued", SchemaVersion: 1,
		StreamType: events.StreamMessage, StreamID: streamID, StreamVersion: 1,
		OccurredAt: at, Actor: events.Actor{Type: events.ActorSystem, ID: "test"},
		Payload: json.RawMessage(`{}`),
	}
}

// openAppend begins a transaction on its own connection and writes env as Append would,
// returning the auto-increment seq it got and the open transaction.
func openAppend(t *testing.T, s *sqlstore.Store, env events.Envelope) (*sql.Tx, int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	if err := sqlstore.InsertInTx(ctx, s, tx, env); err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM events WHERE id = ?`, env.ID).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return tx, seq
}

// TestFollowerAndRelayNeverSkipAnEventThatCommitsLate is the design's required proof: two
// appends hold their transactions open; the one with the HIGHER auto-increment commits first
// and is seen by a follower and by the relay; then the lower one commits. Both must reach the
// follower (ReadAll after the last seen position) and the relay (Pending): nothing skipped.
func TestFollowerAndRelayNeverSkipAnEventThatCommitsLate(t *testing.T) {
	s := sqlstoretest.MariaDB(t)
	early, late := testEnv("early-begun"), testEnv("late-begun")

	txEarly, seqEarly := openAppend(t, s, early) // lower auto-increment, will commit LAST
	txLate, seqLate := openAppend(t, s, late)    // higher auto-increment, commits first
	if seqEarly >= seqLate {
		t.Fatalf("setup: seq %d then %d, want the first open append to hold the lower value", seqEarly, seqLate)
	}
	if err := txLate.Commit(); err != nil {
		t.Fatal(err)
	}

	// The relay runs while the early append is still open: it must neither block on it nor
	// hand out a position that the early event would later have to fit below.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	relayed := pendingIDs(t, ctx, s)
	if len(relayed) != 1 || relayed[0].Envelope.ID != late.ID {
		t.Fatalf("relay before the early commit got %v, want only the late-begun event", idsOf(relayed))
	}
	followed, err := s.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(followed) != 1 || followed[0].Envelope.ID != late.ID {
		t.Fatalf("follower before the early commit got %v, want only the late-begun event", idsOf(followed))
	}
	lastSeen := followed[0].Position
	if err := s.Ack(ctx, []int64{relayed[0].Position}); err != nil { // broker confirmed it
		t.Fatal(err)
	}
	audit, err := s.Query(ctx, domain.EventFilter{})
	if err != nil || len(audit) != 1 {
		t.Fatalf("audit trail while the early append is open: %v, %v", idsOf(audit), err)
	}

	if err := txEarly.Commit(); err != nil {
		t.Fatal(err)
	}
	relayed = pendingIDs(t, ctx, s)
	if len(relayed) != 1 || relayed[0].Envelope.ID != early.ID {
		t.Fatalf("relay after the early commit got %v, want the early-begun event", idsOf(relayed))
	}
	followed, err = s.ReadAll(ctx, lastSeen, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(followed) != 1 || followed[0].Envelope.ID != early.ID {
		t.Fatalf("follower asking for > %d got %v, want the early-begun event", lastSeen, idsOf(followed))
	}
	if followed[0].Position != lastSeen+1 {
		t.Errorf("early-begun event got position %d, want %d (gap-free)", followed[0].Position, lastSeen+1)
	}
}

func pendingIDs(t *testing.T, ctx context.Context, s *sqlstore.Store) []events.Record {
	t.Helper()
	recs, err := s.Pending(ctx, 100)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return recs
}

func idsOf(recs []events.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Envelope.StreamID
	}
	return out
}
