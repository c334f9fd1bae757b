package deliveryqueue_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/deliveryqueue"
)

type backend struct {
	store   domain.EventStore
	db      *sql.DB
	dialect string
}

func backends(t *testing.T) map[string]func(*testing.T) backend {
	return map[string]func(*testing.T) backend{
		"sqlite": func(t *testing.T) backend {
			s := sqlstoretest.SQLite(t)
			return backend{s, s.DB(), "sqlite"}
		},
		"mariadb": func(t *testing.T) backend {
			s := sqlstoretest.MariaDB(t)
			return backend{s, s.DB(), "mysql"}
		},
	}
}

// feed applies every event of the log after pos to the projection, one transaction each, as the
// runner does, and returns the new position.
func feed(t *testing.T, b backend, pos int64) int64 {
	t.Helper()
	ctx := context.Background()
	if o, ok := b.store.(domain.Outbox); ok { // MariaDB positions are stamped by the relay's Pending
		if _, err := o.Pending(ctx, 1000); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := b.store.ReadAll(ctx, pos, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		tx, err := b.db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := (deliveryqueue.Projection{}).Apply(ctx, tx, b.dialect, r); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		pos = r.Position
	}
	return pos
}

func TestQueueDueClaimAndHoldExpiry(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := open(t)
			now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
			rec := domain.Recorder{Clock: func() time.Time { return now }}
			cause := domain.Cause{Actor: events.Actor{Type: events.ActorSMTP, ID: "cred"}}
			add := func(id string, evs ...events.Event) {
				envs, err := rec.Envelopes(events.StreamMessage, id, "acme/main", 0, cause, evs...)
				if err != nil {
					t.Fatal(err)
				}
				if err := b.store.Append(ctx, envs...); err != nil {
					t.Fatal(err)
				}
			}
			q := events.MessageQueued{RcptTo: "a@Remote.test", BodyID: "b1"}
			add("m-ready", q)
			add("m-held", q, events.MessageHeld{Reason: events.HoldDevelopmentMode, Expires: now.Add(message.HoldLifetime)})
			add("m-later", q, events.MessageAttempted{Attempt: 1}, events.MessageDeferred{Attempt: 1, NextAttemptAt: now.Add(time.Hour)})
			add("m-done", q, events.MessageAttempted{Attempt: 1}, events.MessageDelivered{})
			pos := feed(t, b, 0)

			queue, err := deliveryqueue.NewQueue(b.db, b.dialect)
			if err != nil {
				t.Fatal(err)
			}
			due, err := queue.Due(ctx, now, 10)
			if err != nil || len(due) != 1 || due[0] != "m-ready" {
				t.Fatalf("due now = %v, %v; want only m-ready", due, err)
			}
			if due, _ := queue.Due(ctx, now.Add(2*time.Hour), 10); len(due) != 2 {
				t.Fatalf("due in 2h = %v; want m-ready and m-later", due)
			}
			// Two workers race for the same messages: each id is claimed once.
			a, err := queue.Claim(ctx, []string{"m-ready", "m-later"}, "worker-a", now, time.Minute)
			if err != nil || len(a) != 2 {
				t.Fatalf("worker-a claimed %v, %v", a, err)
			}
			if b2, _ := queue.Claim(ctx, []string{"m-ready"}, "worker-b", now, time.Minute); len(b2) != 0 {
				t.Fatalf("worker-b claimed %v while worker-a holds it", b2)
			}
			if due, _ := queue.Due(ctx, now, 10); len(due) != 0 {
				t.Fatalf("claimed message still listed as due: %v", due)
			}
			// A live worker renews its claim: still its own after the first lease time.
			if err := queue.Extend(ctx, []string{"m-later"}, "worker-a", now.Add(50*time.Second), time.Minute); err != nil {
				t.Fatal(err)
			}
			if b2, _ := queue.Claim(ctx, []string{"m-later"}, "worker-b", now.Add(90*time.Second), time.Minute); len(b2) != 0 {
				t.Fatalf("worker-b took a renewed claim: %v", b2)
			}
			// worker-a died: after its lease time, worker-b takes over.
			if b2, _ := queue.Claim(ctx, []string{"m-ready"}, "worker-b", now.Add(2*time.Minute), time.Minute); len(b2) != 1 {
				t.Fatalf("expired lease not taken over: %v", b2)
			}
			if depth, oldest, err := queue.Stats(ctx); err != nil || depth != 2 || oldest != now.UnixMicro() {
				t.Fatalf("stats = %d, %d, %v; want 2 waiting since now", depth, oldest, err)
			}

			// Hold expiry: nothing before 7 days, a cancellation after.
			h, _ := message.NewHandler(b.store, rec)
			if ids, _ := queue.ExpiredHolds(ctx, now.Add(message.HoldLifetime-time.Second), 10); len(ids) != 0 {
				t.Fatalf("hold expired early: %v", ids)
			}
			now = now.Add(message.HoldLifetime + time.Second)
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				message.RunHoldExpiry(runCtx, queue, h, time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
				close(done)
			}()
			deadline := time.Now().Add(10 * time.Second)
			for {
				m, err := h.Get(ctx, "m-held")
				if err != nil {
					t.Fatal(err)
				}
				if m.Status == message.StatusCancelled {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("hold not cancelled after expiry: %s", m.Status)
				}
				time.Sleep(50 * time.Millisecond)
			}
			cancel()
			<-done
			feed(t, b, pos)
			if ids, _ := queue.ExpiredHolds(ctx, now, 10); len(ids) != 0 {
				t.Fatalf("cancelled hold still listed: %v", ids)
			}
			cancelled, _ := b.store.ReadStream(ctx, events.StreamMessage, "m-held", 3)
			if len(cancelled) != 1 || cancelled[0].Envelope.Actor.ID != "hold-expiry" || cancelled[0].Envelope.Type != "message.hold_cancelled" {
				t.Fatalf("want one hold_cancelled by system:hold-expiry, got %+v", cancelled)
			}
		})
	}
}

// A worker that recorded an attempt releases its claim with the stream version it wrote: the
// message is not listed as due again until the queue applied that version (or the settle time
// passed), so a lagging queue does not make workers re-claim messages with nothing left to do.
func TestReleasedClaimWaitsForTheQueue(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := open(t)
			now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
			rec := domain.Recorder{Clock: func() time.Time { return now }}
			cause := domain.Cause{Actor: events.Actor{Type: events.ActorSystem, ID: "dispatch"}}
			add := func(id string, from int64, evs ...events.Event) {
				t.Helper()
				envs, err := rec.Envelopes(events.StreamMessage, id, "acme/main", from, cause, evs...)
				if err != nil {
					t.Fatal(err)
				}
				if err := b.store.Append(ctx, envs...); err != nil {
					t.Fatal(err)
				}
			}
			q := events.MessageQueued{RcptTo: "a@remote.test", BodyID: "b1"}
			add("m-retry", 0, q)
			add("m-done", 0, q)
			add("m-noop", 0, q)
			pos := feed(t, b, 0)
			queue, err := deliveryqueue.NewQueue(b.db, b.dialect)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{"m-retry", "m-done", "m-noop"}
			if got, err := queue.Claim(ctx, ids, "worker-a", now, time.Minute); err != nil || len(got) != 3 {
				t.Fatalf("claimed %v, %v", got, err)
			}
			// worker-a records a deferral due at once (m-retry) and a delivery (m-done); m-noop
			// records nothing.
			add("m-retry", 1, events.MessageAttempted{Attempt: 1}, events.MessageDeferred{Attempt: 1, NextAttemptAt: now})
			add("m-done", 1, events.MessageAttempted{Attempt: 1}, events.MessageDelivered{})
			if err := queue.Release(ctx, map[string]int64{"m-retry": 3, "m-done": 3, "m-noop": 0}, "worker-a", now, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if due, err := queue.Due(ctx, now, 10); err != nil || len(due) != 1 || due[0] != "m-noop" {
				t.Fatalf("due before the queue applied the attempts = %v, %v; want only m-noop", due, err)
			}
			// A settled claim is not a claim: another worker may take the message.
			if got, _ := queue.Claim(ctx, []string{"m-retry"}, "worker-b", now, time.Minute); len(got) != 1 {
				t.Fatalf("worker-b could not claim a released message: %v", got)
			}
			if err := queue.Release(ctx, map[string]int64{"m-retry": 3}, "worker-b", now, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			// The settle time bounds the wait when the queue lags for good.
			if due, _ := queue.Due(ctx, now.Add(2*time.Minute), 10); len(due) != 3 {
				t.Fatalf("due after the settle time = %v; want all three", due)
			}
			feed(t, b, pos)
			due, err := queue.Due(ctx, now, 10)
			if err != nil || len(due) != 2 {
				t.Fatalf("due after the queue applied the attempts = %v, %v; want m-retry and m-noop", due, err)
			}
			// Lapsed settled claims are swept by a later release.
			if err := queue.Release(ctx, map[string]int64{"m-noop": 0}, "nobody", now.Add(2*time.Minute), now.Add(3*time.Minute)); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := b.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM delivery_leases`).Scan(&n); err != nil || n != 0 {
				t.Fatalf("leases left after the sweep: %d, %v", n, err)
			}
		})
	}
}
