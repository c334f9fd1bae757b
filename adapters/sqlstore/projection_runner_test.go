package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
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

func (p faulty) Apply(ctx context.Context, tx projections.Tx, rec events.Record) error {
	if err, ok := p.poison[rec.Envelope.ID]; ok {
		return err
	}
	if err := p.Projection.Apply(ctx, tx, rec); err != nil {
		return err
	}
	if n, ok := p.dbFail[rec.Envelope.ID]; ok && n.Add(-1) >= 0 {
		_, err := tx.ExecContext(ctx, `SELECT * FROM no_such_table`)
		return fmt.Errorf("faulty: %w", err)
	}
	return nil
}

func TestDuplicatesAreSkipped(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		f := pt.NewFeed()
		r := pt.StartRunner(t, b, f, eventcount.New(), sqlstore.ProjectionOptions{})
		recs := b.AppendAll(t, pt.History(t, "m1", "srv-1")...)
		pt.Acked(t, f.Deliver(t, recs[0], recs[0], recs[1], recs[0], recs[1], recs[2], recs[3], recs[3]))
		sameCounts(t, counts(t, b), expectedCounts(t, b))
		if got := counts(t, b)["message.queued|srv-1"]; got != 1 {
			t.Errorf("message.queued counted %d times, want 1", got)
		}
		if st := pt.Status(t, r); st.SkippedSinceStart < 4 {
			t.Errorf("skipped %d deliveries, want at least the 4 duplicates", st.SkippedSinceStart)
		}
	})
}

func TestReorderedDeliveriesFillGapsFromTheStore(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		f := pt.NewFeed()
		pt.StartRunner(t, b, f, eventcount.New(), sqlstore.ProjectionOptions{})
		m1 := b.AppendAll(t, pt.History(t, "m1", "srv-1")...)
		m2 := b.AppendAll(t, pt.History(t, "m2", "")...)

		// v3 before v2: v2 (and v1) come from the store, the late v2 and v1 are duplicates.
		pt.Acked(t, f.Deliver(t, m1[2], m1[1], m1[0]))
		want := map[string]int64{"message.queued|srv-1": 1, "message.attempted|srv-1": 1, "message.deferred|srv-1": 1, "message.opened|srv-w": 1}
		sameCounts(t, counts(t, b), want)

		// Only the last version is ever delivered: the whole stream is applied from the store.
		pt.Acked(t, f.Deliver(t, m2[3]))
		pt.Acked(t, f.Deliver(t, m1[3], m2[0], m2[1]))
		sameCounts(t, counts(t, b), expectedCounts(t, b))
		if got := b.Scalar(t, `SELECT version FROM projection_streams WHERE projection = ? AND stream_id = ?`, eventcount.Name, "m2"); got != 4 {
			t.Errorf("checkpoint of m2 = %d, want 4", got)
		}
	})
}

func TestPoisonIsDeadLetteredAndLaterEventsApply(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		m1 := pt.History(t, "m1", "srv-1")
		m2 := pt.History(t, "m2", "srv-2")
		proj := faulty{poison: map[string]error{
			// A long reason, cut mid-rune when recorded.
			m1[1].ID: projections.Poison(errors.New("cannot apply m1@2: xy" + strings.Repeat("é", 3000))),
			m2[1].ID: errors.New("plain error: cannot apply m2@2"), // not a database error: poison too
		}}
		f := pt.NewFeed()
		r := pt.StartRunner(t, b, f, proj, sqlstore.ProjectionOptions{})
		r1 := b.AppendAll(t, m1...)
		r2 := b.AppendAll(t, m2...)

		outs := f.Deliver(t, r1[0], r1[1], r1[2], r1[3])
		if !outs[1].Dead || !strings.Contains(fmt.Sprint(outs[1].Reason), "cannot apply m1@2") {
			t.Errorf("m1@2 settled %+v, want dead-lettered with its reason", outs[1])
		}
		pt.Acked(t, []pt.Outcome{outs[0], outs[2], outs[3]})

		// A poison version met while filling a gap is dead-lettered too; the delivery is acked.
		pt.Acked(t, f.Deliver(t, r2[3]))
		sameCounts(t, counts(t, b), expectedCounts(t, b, m1[1].ID, m2[1].ID))

		st := pt.Status(t, r)
		if st.DeadLetters != 2 || st.DeadLetteredSinceStart != 2 {
			t.Errorf("dead letters: recorded %d, counted %d; want 2 and 2", st.DeadLetters, st.DeadLetteredSinceStart)
		}
		if got := b.Scalar(t, `SELECT COUNT(*) FROM projection_dead_letters WHERE projection = ? AND event_id = ? AND reason LIKE '%m2@2%'`, eventcount.Name, m2[1].ID); got != 1 {
			t.Errorf("dead letter of m2@2 recorded %d times, want 1", got)
		}
		// A poison event met first while filling a gap still goes to the dead-letter queue when the
		// bus delivers it; a redelivered one goes there again. Neither is recorded twice.
		for _, rec := range []events.Record{r2[1], r1[1]} {
			if o := f.Deliver(t, rec); !o[0].Dead || !strings.Contains(o[0].Reason.Error(), "cannot apply") {
				t.Errorf("delivery of %s settled %+v, want dead-lettered with the recorded reason", rec.Envelope.ID, o[0])
			}
		}
		if st := pt.Status(t, r); st.DeadLetters != 2 {
			t.Errorf("dead letters recorded %d, want still 2", st.DeadLetters)
		}
		sameCounts(t, counts(t, b), expectedCounts(t, b, m1[1].ID, m2[1].ID))
	})
}

func TestDatabaseErrorsAreRolledBackAndRetried(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		m1 := pt.History(t, "m1", "srv-1")
		var once, always atomic.Int64
		once.Store(1)
		always.Store(1 << 30)
		proj := faulty{dbFail: map[string]*atomic.Int64{m1[0].ID: &once, m1[1].ID: &always}}
		f := pt.NewFeed()
		r := pt.StartRunner(t, b, f, proj, sqlstore.ProjectionOptions{MaxAttempts: 3})
		recs := b.AppendAll(t, m1...)

		pt.Acked(t, f.Deliver(t, recs[0]))
		if got := counts(t, b)["message.queued|srv-1"]; got != 1 {
			t.Errorf("message.queued counted %d times after a rolled-back try, want 1", got)
		}
		if st := pt.Status(t, r); st.RetriesSinceStart != 1 {
			t.Errorf("retries = %d, want 1", st.RetriesSinceStart)
		}
		// A database failure that never goes away is dead-lettered after MaxAttempts tries.
		outs := f.Deliver(t, recs[1])
		if !outs[0].Dead || !strings.Contains(fmt.Sprint(outs[0].Reason), "no_such_table") {
			t.Errorf("m1@2 settled %+v, want dead-lettered with the database error", outs[0])
		}
		pt.Acked(t, f.Deliver(t, recs[2], recs[3]))
		sameCounts(t, counts(t, b), expectedCounts(t, b, m1[1].ID))
	})
}

func TestCatchUpAppliesEventsTheBusLost(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		// Events in the store before the runner starts are applied by the start-up catch-up.
		b.AppendAll(t, pt.History(t, "m0", "srv-0")...)
		f := pt.NewFeed()
		r := pt.StartRunner(t, b, f, eventcount.New(), sqlstore.ProjectionOptions{BatchSize: 3})
		sameCounts(t, counts(t, b), expectedCounts(t, b))

		// The broker is wiped: these are never delivered.
		b.AppendAll(t, pt.History(t, "m1", "srv-1")...)
		b.AppendAll(t, pt.History(t, "m2", "")...)
		if st := pt.Status(t, r); st.Lag != 8 {
			t.Errorf("lag before reconnect = %d, want 8 (status %+v)", st.Lag, st)
		}
		f.Reconnected <- struct{}{}
		pt.Eventually(t, "catch-up after reconnect", func() bool { return pt.Status(t, r).Lag == 0 })
		sameCounts(t, counts(t, b), expectedCounts(t, b))
		st := pt.Status(t, r)
		if st.Horizon != st.Head {
			t.Errorf("horizon %d, head %d: want equal after catch-up", st.Horizon, st.Head)
		}
		// The bus redelivers old events after all: duplicates.
		recs, err := b.Store.ReadStream(pt.Ctx(t), events.StreamMessage, "m1", 1)
		if err != nil {
			t.Fatal(err)
		}
		pt.Acked(t, f.Deliver(t, recs...))
		sameCounts(t, counts(t, b), expectedCounts(t, b))
	})
}

func TestPeriodicCatchUp(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		f := pt.NewFeed()
		r := pt.StartRunner(t, b, f, eventcount.New(), sqlstore.ProjectionOptions{CatchUpInterval: 50 * time.Millisecond})
		b.AppendAll(t, pt.History(t, "m1", "srv-1")...)
		pt.Eventually(t, "periodic catch-up", func() bool { return pt.Status(t, r).Lag == 0 })
		sameCounts(t, counts(t, b), expectedCounts(t, b))
	})
}

func TestNewRunnerRefusesBadWiring(t *testing.T) {
	_, err := sqlstore.NewRunner(nil, nil, nil, nil, []projections.Projection{nil}, nil, sqlstore.ProjectionOptions{})
	for _, want := range []string{"nil database", "nil dialect", "nil reader", "nil subscriber", "nil logger", "projection 0 is nil"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

func TestManyWaitingDeliveriesAreAppliedTogether(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		f := pt.NewBufferedFeed(64)
		var poisonID string
		proj := faulty{poison: map[string]error{}}
		r := pt.StartRunner(t, b, f, proj, sqlstore.ProjectionOptions{DeliveryBatch: 16})
		var recs []events.Record
		for i := range 10 {
			h := pt.History(t, fmt.Sprintf("m%d", i), fmt.Sprintf("srv-%d", i%3))
			if i == 4 {
				poisonID = h[2].ID
				proj.poison[poisonID] = projections.Poison(errors.New("bad"))
			}
			r := b.AppendAll(t, h...)
			recs = append(recs, r[3], r[1], r[0], r[2], r[1]) // reordered, with a duplicate
		}
		outs := f.DeliverAll(t, recs...)
		for i, o := range outs {
			if o.ID != recs[i].Envelope.ID {
				t.Fatalf("outcome %d is for %s, want %s (settled out of order)", i, o.ID, recs[i].Envelope.ID)
			}
			if o.Dead != (o.ID == poisonID) {
				t.Errorf("delivery %s: dead-lettered = %v (%v)", o.ID, o.Dead, o.Reason)
			}
		}
		sameCounts(t, counts(t, b), expectedCounts(t, b, poisonID))
		if st := pt.Status(t, r); st.Lag != 0 || st.Horizon != st.Head {
			t.Errorf("status %+v: want no lag and the horizon at the head (every position handled)", st)
		}
	})
}
