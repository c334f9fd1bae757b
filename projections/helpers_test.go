package projections_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// store is what the tests need of a real event store.
type store interface {
	domain.EventStore
	domain.Outbox
	DB() *sql.DB
}

type backend struct {
	store store
	db    projections.DB
}

// eachBackend runs f against a fresh, migrated SQLite file and a fresh MariaDB database.
func eachBackend(t *testing.T, f func(t *testing.T, b *backend)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		s := sqlstoretest.SQLite(t)
		f(t, &backend{store: s, db: projections.DB{SQL: s.DB(), Dialect: projections.DialectSQLite}})
	})
	t.Run("mariadb", func(t *testing.T) {
		s := sqlstoretest.MariaDB(t)
		f(t, &backend{store: s, db: projections.DB{SQL: s.DB(), Dialect: projections.DialectMySQL}})
	})
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("POSTHASTE_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

var (
	pinned = time.Date(2026, 11, 24, 10, 30, 0, 123456000, time.UTC)
	seq    atomic.Int64
)

// ev builds a valid envelope of a message stream with a pinned clock and a counter-made id.
func ev(t testing.TB, payload events.Event, stream string, version int64, server string) events.Envelope {
	t.Helper()
	n := seq.Add(1)
	env, err := events.New(payload, events.Meta{
		ID:         fmt.Sprintf("0196f1c2-8a00-7000-8000-%012d", n),
		StreamType: events.StreamMessage, StreamID: stream, StreamVersion: version, ServerID: server,
		OccurredAt: pinned.Add(time.Duration(n) * time.Millisecond),
		Actor:      events.Actor{Type: events.ActorSystem, ID: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// history returns the envelopes of one message stream: queued, attempted, deferred, delivered.
func history(t testing.TB, stream, server string) []events.Envelope {
	return []events.Envelope{
		ev(t, &events.MessageQueued{RcptTo: "a@example.org", Source: "api"}, stream, 1, server),
		ev(t, &events.MessageAttempted{Attempt: 1, Result: "deferred"}, stream, 2, server),
		ev(t, &events.MessageDeferred{Attempt: 1, NextAttemptAt: pinned}, stream, 3, server),
		ev(t, &events.MessageDelivered{Attempt: 2, ReplyCode: 250}, stream, 4, server),
	}
}

// appendAll appends and has positions stamped (MariaDB stamps them in Pending), then returns
// the positioned records of the envelopes, in order.
func (b *backend) appendAll(t testing.TB, envs ...events.Envelope) []events.Record {
	t.Helper()
	ctx := testCtx(t)
	if err := b.store.Append(ctx, envs...); err != nil {
		t.Fatalf("append: %v", err)
	}
	if _, err := b.store.Pending(ctx, 1); err != nil {
		t.Fatalf("pending: %v", err)
	}
	out := make([]events.Record, len(envs))
	for i, e := range envs {
		recs, err := b.store.ReadStream(ctx, e.StreamType, e.StreamID, e.StreamVersion)
		if err != nil || len(recs) == 0 || recs[0].Position == 0 {
			t.Fatalf("read back %s/%s@%d: %v %v", e.StreamType, e.StreamID, e.StreamVersion, recs, err)
		}
		out[i] = recs[0]
	}
	return out
}

// counts reads event_counts as "type|server" -> count.
func (b *backend) counts(t testing.TB) map[string]int64 {
	t.Helper()
	rows, err := b.db.SQL.QueryContext(testCtx(t), `SELECT event_type, server_id, count FROM event_counts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var typ, srv string
		var n int64
		if err := rows.Scan(&typ, &srv, &n); err != nil {
			t.Fatal(err)
		}
		out[typ+"|"+srv] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedCounts counts the store's events by "type|server", leaving out the given event ids.
func (b *backend) expectedCounts(t testing.TB, except ...string) map[string]int64 {
	t.Helper()
	skip := map[string]bool{}
	for _, id := range except {
		skip[id] = true
	}
	out := map[string]int64{}
	var after int64
	for {
		recs, err := b.store.ReadAll(testCtx(t), after, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if !skip[r.Envelope.ID] {
				out[r.Envelope.Type+"|"+r.Envelope.Server()]++
			}
			after = r.Position
		}
		if len(recs) < 500 {
			return out
		}
	}
}

func (b *backend) scalar(t testing.TB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := b.db.SQL.QueryRowContext(testCtx(t), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func sameCounts(t testing.TB, got, want map[string]int64) {
	t.Helper()
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var diff []string
	for k := range keys {
		if got[k] != want[k] {
			diff = append(diff, fmt.Sprintf("%s: got %d want %d", k, got[k], want[k]))
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		t.Errorf("event_counts differ:\n%v", diff)
	}
}

// outcome is how the runner settled one delivery.
type outcome struct {
	id     string
	dead   bool
	reason error
}

// feed is an in-test bus for one projection: the test hands deliveries to the runner and sees
// how each was settled.
type feed struct {
	deliveries  chan projections.Delivery
	reconnected chan struct{}
	outcomes    chan outcome
}

func newFeed() *feed { return newBufferedFeed(0) }

// newBufferedFeed queues up to n deliveries, so the runner finds several waiting.
func newBufferedFeed(n int) *feed {
	return &feed{deliveries: make(chan projections.Delivery, n), reconnected: make(chan struct{}), outcomes: make(chan outcome, n+100)}
}

func (f *feed) delivery(r events.Record) projections.Delivery {
	id := r.Envelope.ID
	return projections.Delivery{
		Record:     r,
		Ack:        func() error { f.outcomes <- outcome{id: id}; return nil },
		DeadLetter: func(reason error) error { f.outcomes <- outcome{id: id, dead: true, reason: reason}; return nil },
	}
}

// deliverAll queues every record at once, then returns the outcomes in settling order.
func (f *feed) deliverAll(t testing.TB, recs ...events.Record) []outcome {
	t.Helper()
	for _, r := range recs {
		f.deliveries <- f.delivery(r)
	}
	out := make([]outcome, 0, len(recs))
	for range recs {
		select {
		case o := <-f.outcomes:
			out = append(out, o)
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d deliveries settled", len(out), len(recs))
		}
	}
	return out
}

func (f *feed) Subscribe(ctx context.Context, projection string) (<-chan projections.Delivery, <-chan struct{}, error) {
	return f.deliveries, f.reconnected, nil
}

// deliver hands the records to the runner one by one and returns how each was settled.
func (f *feed) deliver(t testing.TB, recs ...events.Record) []outcome {
	t.Helper()
	var out []outcome
	for _, r := range recs {
		id := r.Envelope.ID
		d := f.delivery(r)
		select {
		case f.deliveries <- d:
		case <-time.After(30 * time.Second):
			t.Fatal("runner does not take deliveries")
		}
		select {
		case o := <-f.outcomes:
			if o.id != id {
				t.Fatalf("settled %s, want %s", o.id, id)
			}
			out = append(out, o)
		case <-time.After(30 * time.Second):
			t.Fatalf("delivery %s never settled", id)
		}
	}
	return out
}

func acked(t testing.TB, outs []outcome) {
	t.Helper()
	for _, o := range outs {
		if o.dead {
			t.Errorf("delivery %s dead-lettered: %v", o.id, o.reason)
		}
	}
}

// startRunner runs a runner of proj on the feed until the test ends. A warm-up record (already in
// the store) is delivered first, so the start-up catch-up has finished when it returns.
func startRunner(t testing.TB, b *backend, f *feed, proj projections.Projection, opts projections.Options) *projections.Runner {
	t.Helper()
	if opts.CatchUpInterval == 0 {
		opts.CatchUpInterval = time.Hour
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	r, err := projections.NewRunner(b.db, b.store, f, []projections.Projection{proj}, testLogger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	warm := b.appendAll(t, ev(t, &events.MessageOpened{}, fmt.Sprintf("warm-%d", seq.Add(1)), 1, "srv-w"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("runner did not stop")
		}
	})
	acked(t, f.deliver(t, warm...))
	return r
}

func status(t testing.TB, r *projections.Runner) projections.Status {
	t.Helper()
	sts, err := r.Status(testCtx(t))
	if err != nil || len(sts) != 1 {
		t.Fatalf("status: %v %v", sts, err)
	}
	return sts[0]
}

// eventually polls cond for up to 20 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
