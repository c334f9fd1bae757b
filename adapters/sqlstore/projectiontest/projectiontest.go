// Package projectiontest is the one test harness of the read side: the tests of every read model
// (projections/...) and of the projection engine (adapters/sqlstore) run on it. It gives a fresh,
// migrated event store with its SQL database on each backend, a bus the test drives by hand (Feed)
// with a runner over it, a projection applied in a transaction of the test's own, and a workload
// of message streams delivered the messy way a bus may deliver them (shuffled, duplicated, with
// gaps the runner fills from the store).
//
// It is test support only: it wires the real backends through the test helpers of the event
// store adapters, as test files do.
package projectiontest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
)

// Store is what the tests need of a real event store.
type Store interface {
	domain.EventStore
	domain.Outbox
	DB() *sql.DB
}

// Database is a migrated SQL database of one backend.
type Database struct {
	Name    string // "sqlite" or "mariadb"
	DB      *sql.DB
	Dialect sqlstore.Dialect
}

// Backend is one backend's event store and the SQL database of its read models.
type Backend struct {
	Database
	Store Store
}

// Backends are the names EachBackend runs on, in order.
var Backends = []string{"sqlite", "mariadb"}

// Open returns a fresh, migrated store of the named backend, removed when the test ends.
func Open(t testing.TB, name string) *Backend {
	t.Helper()
	switch name {
	case "sqlite":
		s := sqlstoretest.SQLite(t)
		return &Backend{Database: Database{Name: name, DB: s.DB(), Dialect: sqlstore.SQLite}, Store: s}
	case "mariadb":
		s := sqlstoretest.MariaDB(t)
		return &Backend{Database: Database{Name: name, DB: s.DB(), Dialect: sqlstore.MariaDB}, Store: s}
	}
	t.Fatalf("projectiontest: unknown backend %q", name)
	return nil
}

// OpenDatabase returns a fresh, migrated database of the named backend without an event store.
func OpenDatabase(t testing.TB, name string) Database {
	t.Helper()
	switch name {
	case "sqlite":
		return Database{Name: name, DB: sqlstoretest.SQLiteDB(t), Dialect: sqlstore.SQLite}
	case "mariadb":
		return Database{Name: name, DB: sqlstoretest.MariaDBDB(t), Dialect: sqlstore.MariaDB}
	}
	t.Fatalf("projectiontest: unknown backend %q", name)
	return Database{}
}

// EachBackend runs f as a subtest against a fresh store of each backend.
func EachBackend(t *testing.T, f func(t *testing.T, b *Backend)) {
	t.Helper()
	for _, name := range Backends {
		t.Run(name, func(t *testing.T) { f(t, Open(t, name)) })
	}
}

// Ctx is a context bounded to a minute, ended with the test.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Logger discards, unless POSTHASTE_TEST_VERBOSE is set (then debug to stderr).
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("POSTHASTE_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// AppendAll appends and has positions stamped (MariaDB stamps them in Pending), then returns the
// positioned records of the envelopes, in order.
func (b *Backend) AppendAll(t testing.TB, envs ...events.Envelope) []events.Record {
	t.Helper()
	ctx := Ctx(t)
	if err := b.Store.Append(ctx, envs...); err != nil {
		t.Fatalf("append: %v", err)
	}
	if _, err := b.Store.Pending(ctx, 1); err != nil {
		t.Fatalf("pending: %v", err)
	}
	out := make([]events.Record, len(envs))
	for i, e := range envs {
		recs, err := b.Store.ReadStream(ctx, e.StreamType, e.StreamID, e.StreamVersion)
		if err != nil || len(recs) == 0 || recs[0].Position == 0 {
			t.Fatalf("read back %s/%s@%d: %v %v", e.StreamType, e.StreamID, e.StreamVersion, recs, err)
		}
		out[i] = recs[0]
	}
	return out
}

// Scalar runs a query of one integer.
func (b *Backend) Scalar(t testing.TB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := b.DB.QueryRowContext(Ctx(t), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// Apply applies recs to p in one transaction of the test's own (flushing a Buffered projection)
// and commits it; an Apply error fails the test.
func (b Database) Apply(t testing.TB, p projections.Projection, recs ...events.Record) {
	t.Helper()
	if err := b.TryApply(t, p, recs...); err != nil {
		t.Fatal(err)
	}
}

// TryApply is Apply returning the first error (the transaction is then rolled back).
func (b Database) TryApply(t testing.TB, p projections.Projection, recs ...events.Record) error {
	t.Helper()
	ctx := Ctx(t)
	tx, err := b.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ptx := sqlstore.NewProjectionTx(tx, b.Dialect)
	for _, r := range recs {
		if err := p.Apply(ctx, ptx, r); err != nil {
			return fmt.Errorf("apply %s %s/%s@%d: %w", r.Envelope.Type, r.Envelope.StreamType, r.Envelope.StreamID, r.Envelope.StreamVersion, err)
		}
	}
	if bp, ok := p.(projections.Buffered); ok {
		if err := bp.Flush(ctx, ptx); err != nil {
			return fmt.Errorf("flush %s: %w", p.Name(), err)
		}
	}
	return tx.Commit()
}

// Records wraps envelopes as unpositioned records (for Apply without a store).
func Records(envs ...events.Envelope) []events.Record {
	out := make([]events.Record, len(envs))
	for i, e := range envs {
		out[i] = events.Record{Envelope: e}
	}
	return out
}

var (
	// Pinned is the clock of Event.
	Pinned = time.Date(2026, 11, 24, 10, 30, 0, 123456000, time.UTC)
	seq    atomic.Int64
)

// Event builds a valid envelope of a message stream with a pinned clock and a counter-made id.
func Event(t testing.TB, payload events.Event, stream string, version int64, server string) events.Envelope {
	t.Helper()
	n := seq.Add(1)
	env, err := events.New(payload, events.Meta{
		ID:         fmt.Sprintf("0196f1c2-8a00-7000-8000-%012d", n),
		StreamType: events.StreamMessage, StreamID: stream, StreamVersion: version, ServerID: server,
		OccurredAt: Pinned.Add(time.Duration(n) * time.Millisecond),
		Actor:      events.Actor{Type: events.ActorSystem, ID: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// History returns the envelopes of one message stream: queued, attempted, deferred, delivered.
func History(t testing.TB, stream, server string) []events.Envelope {
	return []events.Envelope{
		Event(t, &events.MessageQueued{RcptTo: "a@example.org", Source: "api"}, stream, 1, server),
		Event(t, &events.MessageAttempted{Attempt: 1, Result: "deferred"}, stream, 2, server),
		Event(t, &events.MessageDeferred{Attempt: 1, NextAttemptAt: Pinned}, stream, 3, server),
		Event(t, &events.MessageDelivered{Attempt: 2, ReplyCode: 250}, stream, 4, server),
	}
}

// Unique returns a name not returned before in this process (a warm-up stream, say).
func Unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// Eventually polls cond for up to 20 s.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// StartRunner runs a runner of proj on the feed until the test ends. A warm-up record (already in
// the store) is delivered first, so the start-up catch-up has finished when it returns. Zero
// CatchUpInterval and RetryBackoff become an hour and a millisecond.
func StartRunner(t testing.TB, b *Backend, f *Feed, proj projections.Projection, opts sqlstore.ProjectionOptions) *sqlstore.Runner {
	t.Helper()
	if opts.CatchUpInterval == 0 {
		opts.CatchUpInterval = time.Hour
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	r, err := sqlstore.NewRunner(b.DB, b.Dialect, b.Store, f, []projections.Projection{proj}, Logger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	warm := b.AppendAll(t, Event(t, &events.MessageOpened{}, Unique("warm"), 1, "srv-w"))
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
	Acked(t, f.Deliver(t, warm...))
	return r
}

// Status is the runner's status of its one projection.
func Status(t testing.TB, r *sqlstore.Runner) sqlstore.ProjectionStatus {
	t.Helper()
	sts, err := r.Status(Ctx(t))
	if err != nil || len(sts) != 1 {
		t.Fatalf("status: %v %v", sts, err)
	}
	return sts[0]
}

// Run runs a runner of projs on sub until the test ends.
func Run(t testing.TB, b *Backend, sub projections.Subscriber, projs []projections.Projection, opts sqlstore.ProjectionOptions) *sqlstore.Runner {
	t.Helper()
	rn, err := sqlstore.NewRunner(b.DB, b.Dialect, b.Store, sub, projs, Logger(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rn.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return rn
}

// chanSub hands the test's deliveries to the runner.
type chanSub struct{ ch chan projections.Delivery }

func (c chanSub) Subscribe(ctx context.Context, _ string) (<-chan projections.Delivery, <-chan struct{}, error) {
	return c.ch, make(chan struct{}), nil
}

// DeliverMessy appends envs to the store, then hands a runner of proj every record shuffled (by
// seed), with duplicates and with some left out (gaps the runner fills from the store), and
// waits until all are settled; a dead letter fails the test.
func DeliverMessy(t *testing.T, b *Backend, proj projections.Projection, envs []events.Envelope, seed uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := b.Store
	if err := s.Append(ctx, envs...); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pending(ctx, 1); err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(ctx, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]bool{}
	for _, e := range envs {
		mine[e.ID] = true
	}
	var recs []events.Record
	for _, r := range all {
		if mine[r.Envelope.ID] {
			recs = append(recs, r)
		}
	}
	if len(recs) != len(envs) {
		t.Fatalf("read back %d of %d", len(recs), len(envs))
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var batch []events.Record
	for _, r := range recs {
		switch rng.IntN(4) {
		case 0: // left out: a gap
			continue
		case 1: // duplicated
			batch = append(batch, r, r)
		default:
			batch = append(batch, r)
		}
	}
	// The last version of every stream comes at least once, so every gap gets filled.
	last := map[string]events.Record{}
	for _, r := range recs {
		last[r.Envelope.StreamID] = r
	}
	for _, r := range last {
		batch = append(batch, r)
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })

	sub := chanSub{ch: make(chan projections.Delivery, len(batch))}
	acked := make(chan bool, len(batch))
	for _, r := range batch {
		sub.ch <- projections.Delivery{Record: r,
			Ack: func() error { acked <- true; return nil },
			DeadLetter: func(err error) error {
				t.Errorf("dead-lettered %s: %v", r.Envelope.Type, err)
				acked <- false
				return nil
			}}
	}
	rn, err := sqlstore.NewRunner(b.DB, b.Dialect, s, sub, []projections.Projection{proj}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		sqlstore.ProjectionOptions{CatchUpInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rn.Run(runCtx) }()
	for range batch {
		select {
		case <-acked:
		case <-ctx.Done():
			t.Fatal("deliveries not settled in time")
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
