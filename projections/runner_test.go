package projections_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/eventcount"
)

// faulty wraps eventcount: events named in poison fail with that error; events named in dbFail
// write their count, then run an invalid statement, for that many calls (a database failure
// after a partial write, which the runner must roll back).
type faulty struct {
	eventcount.Projection
	poison map[string]error
	dbFail map[string]*atomic.Int64
}

func (p faulty) Apply(ctx context.Context, tx *sql.Tx, dialect string, rec events.Record) error {
	if err, ok := p.poison[rec.Envelope.ID]; ok {
		return err
	}
	if err := p.Projection.Apply(ctx, tx, dialect, rec); err != nil {
		return err
	}
	if n, ok := p.dbFail[rec.Envelope.ID]; ok && n.Add(-1) >= 0 {
		_, err := tx.ExecContext(ctx, `SELECT * FROM no_such_table`)
		return fmt.Errorf("faulty: %w", err)
	}
	return nil
}

func TestDuplicatesAreSkipped(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		f := newFeed()
		r := startRunner(t, b, f, eventcount.New(), projections.Options{})
		recs := b.appendAll(t, history(t, "m1", "srv-1")...)
		acked(t, f.deliver(t, recs[0], recs[0], recs[1], recs[0], recs[1], recs[2], recs[3], recs[3]))
		sameCounts(t, b.counts(t), b.expectedCounts(t))
		if got := b.counts(t)["message.queued|srv-1"]; got != 1 {
			t.Errorf("message.queued counted %d times, want 1", got)
		}
		if st := status(t, r); st.SkippedSinceStart < 4 {
			t.Errorf("skipped %d deliveries, want at least the 4 duplicates", st.SkippedSinceStart)
		}
	})
}

func TestReorderedDeliveriesFillGapsFromTheStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		f := newFeed()
		startRunner(t, b, f, eventcount.New(), projections.Options{})
		m1 := b.appendAll(t, history(t, "m1", "srv-1")...)
		m2 := b.appendAll(t, history(t, "m2", "")...)

		// v3 before v2: v2 (and v1) come from the store, the late v2 and v1 are duplicates.
		acked(t, f.deliver(t, m1[2], m1[1], m1[0]))
		want := map[string]int64{"message.queued|srv-1": 1, "message.attempted|srv-1": 1, "message.deferred|srv-1": 1, "message.opened|srv-w": 1}
		sameCounts(t, b.counts(t), want)

		// Only the last version is ever delivered: the whole stream is applied from the store.
		acked(t, f.deliver(t, m2[3]))
		acked(t, f.deliver(t, m1[3], m2[0], m2[1]))
		sameCounts(t, b.counts(t), b.expectedCounts(t))
		if got := b.scalar(t, `SELECT version FROM projection_streams WHERE projection = ? AND stream_id = ?`, eventcount.Name, "m2"); got != 4 {
			t.Errorf("checkpoint of m2 = %d, want 4", got)
		}
	})
}

func TestPoisonIsDeadLetteredAndLaterEventsApply(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		m1 := history(t, "m1", "srv-1")
		m2 := history(t, "m2", "srv-2")
		proj := faulty{poison: map[string]error{
			// A long reason, cut mid-rune when recorded.
			m1[1].ID: projections.Poison(errors.New("cannot apply m1@2: xy" + strings.Repeat("é", 3000))),
			m2[1].ID: errors.New("plain error: cannot apply m2@2"), // not a database error: poison too
		}}
		f := newFeed()
		r := startRunner(t, b, f, proj, projections.Options{})
		r1 := b.appendAll(t, m1...)
		r2 := b.appendAll(t, m2...)

		outs := f.deliver(t, r1[0], r1[1], r1[2], r1[3])
		if !outs[1].dead || !strings.Contains(fmt.Sprint(outs[1].reason), "cannot apply m1@2") {
			t.Errorf("m1@2 settled %+v, want dead-lettered with its reason", outs[1])
		}
		acked(t, []outcome{outs[0], outs[2], outs[3]})

		// A poison version met while filling a gap is dead-lettered too; the delivery is acked.
		acked(t, f.deliver(t, r2[3]))
		sameCounts(t, b.counts(t), b.expectedCounts(t, m1[1].ID, m2[1].ID))

		st := status(t, r)
		if st.DeadLetters != 2 || st.DeadLetteredSinceStart != 2 {
			t.Errorf("dead letters: recorded %d, counted %d; want 2 and 2", st.DeadLetters, st.DeadLetteredSinceStart)
		}
		if got := b.scalar(t, `SELECT COUNT(*) FROM projection_dead_letters WHERE projection = ? AND event_id = ? AND reason LIKE '%m2@2%'`, eventcount.Name, m2[1].ID); got != 1 {
			t.Errorf("dead letter of m2@2 recorded %d times, want 1", got)
		}
		// A poison event met first while filling a gap still goes to the dead-letter queue when the
		// bus delivers it; a redelivered one goes there again. Neither is recorded twice.
		for _, rec := range []events.Record{r2[1], r1[1]} {
			if o := f.deliver(t, rec); !o[0].dead || !strings.Contains(o[0].reason.Error(), "cannot apply") {
				t.Errorf("delivery of %s settled %+v, want dead-lettered with the recorded reason", rec.Envelope.ID, o[0])
			}
		}
		if st := status(t, r); st.DeadLetters != 2 {
			t.Errorf("dead letters recorded %d, want still 2", st.DeadLetters)
		}
		sameCounts(t, b.counts(t), b.expectedCounts(t, m1[1].ID, m2[1].ID))
	})
}

func TestDatabaseErrorsAreRolledBackAndRetried(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		m1 := history(t, "m1", "srv-1")
		var once, always atomic.Int64
		once.Store(1)
		always.Store(1 << 30)
		proj := faulty{dbFail: map[string]*atomic.Int64{m1[0].ID: &once, m1[1].ID: &always}}
		f := newFeed()
		r := startRunner(t, b, f, proj, projections.Options{MaxAttempts: 3})
		recs := b.appendAll(t, m1...)

		acked(t, f.deliver(t, recs[0]))
		if got := b.counts(t)["message.queued|srv-1"]; got != 1 {
			t.Errorf("message.queued counted %d times after a rolled-back try, want 1", got)
		}
		if st := status(t, r); st.RetriesSinceStart != 1 {
			t.Errorf("retries = %d, want 1", st.RetriesSinceStart)
		}
		// A database failure that never goes away is dead-lettered after MaxAttempts tries.
		outs := f.deliver(t, recs[1])
		if !outs[0].dead || !strings.Contains(fmt.Sprint(outs[0].reason), "no_such_table") {
			t.Errorf("m1@2 settled %+v, want dead-lettered with the database error", outs[0])
		}
		acked(t, f.deliver(t, recs[2], recs[3]))
		sameCounts(t, b.counts(t), b.expectedCounts(t, m1[1].ID))
	})
}

func TestCatchUpAppliesEventsTheBusLost(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		// Events in the store before the runner starts are applied by the start-up catch-up.
		b.appendAll(t, history(t, "m0", "srv-0")...)
		f := newFeed()
		r := startRunner(t, b, f, eventcount.New(), projections.Options{BatchSize: 3})
		sameCounts(t, b.counts(t), b.expectedCounts(t))

		// The broker is wiped: these are never delivered.
		b.appendAll(t, history(t, "m1", "srv-1")...)
		b.appendAll(t, history(t, "m2", "")...)
		if st := status(t, r); st.Lag != 8 {
			t.Errorf("lag before reconnect = %d, want 8 (status %+v)", st.Lag, st)
		}
		f.reconnected <- struct{}{}
		eventually(t, "catch-up after reconnect", func() bool { return status(t, r).Lag == 0 })
		sameCounts(t, b.counts(t), b.expectedCounts(t))
		st := status(t, r)
		if st.Horizon != st.Head {
			t.Errorf("horizon %d, head %d: want equal after catch-up", st.Horizon, st.Head)
		}
		// The bus redelivers old events after all: duplicates.
		recs, err := b.store.ReadStream(testCtx(t), events.StreamMessage, "m1", 1)
		if err != nil {
			t.Fatal(err)
		}
		acked(t, f.deliver(t, recs...))
		sameCounts(t, b.counts(t), b.expectedCounts(t))
	})
}

func TestPeriodicCatchUp(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		f := newFeed()
		r := startRunner(t, b, f, eventcount.New(), projections.Options{CatchUpInterval: 50 * time.Millisecond})
		b.appendAll(t, history(t, "m1", "srv-1")...)
		eventually(t, "periodic catch-up", func() bool { return status(t, r).Lag == 0 })
		sameCounts(t, b.counts(t), b.expectedCounts(t))
	})
}

func TestNewRunnerRefusesBadWiring(t *testing.T) {
	_, err := projections.NewRunner(projections.DB{Dialect: "oracle"}, nil, nil, []projections.Projection{nil}, nil, projections.Options{})
	for _, want := range []string{"nil database", "unknown dialect", "nil reader", "nil subscriber", "nil logger", "projection 0 is nil"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestManyWaitingDeliveriesAreAppliedTogether(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		f := newBufferedFeed(64)
		var poisonID string
		proj := faulty{poison: map[string]error{}}
		r := startRunner(t, b, f, proj, projections.Options{DeliveryBatch: 16})
		var recs []events.Record
		for i := range 10 {
			h := history(t, fmt.Sprintf("m%d", i), fmt.Sprintf("srv-%d", i%3))
			if i == 4 {
				poisonID = h[2].ID
				proj.poison[poisonID] = projections.Poison(errors.New("bad"))
			}
			r := b.appendAll(t, h...)
			recs = append(recs, r[3], r[1], r[0], r[2], r[1]) // reordered, with a duplicate
		}
		outs := f.deliverAll(t, recs...)
		for i, o := range outs {
			if o.id != recs[i].Envelope.ID {
				t.Fatalf("outcome %d is for %s, want %s (settled out of order)", i, o.id, recs[i].Envelope.ID)
			}
			if o.dead != (o.id == poisonID) {
				t.Errorf("delivery %s: dead-lettered = %v (%v)", o.id, o.dead, o.reason)
			}
		}
		sameCounts(t, b.counts(t), b.expectedCounts(t, poisonID))
		if st := status(t, r); st.Lag != 0 || st.Horizon != st.Head {
			t.Errorf("status %+v: want no lag and the horizon at the head (every position handled)", st)
		}
	})
}
