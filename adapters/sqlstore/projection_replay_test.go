package sqlstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/deliveryqueue"
	"github.com/posthaste/posthaste/projections/eventcount"
)

func checksum(t *testing.T, b *pt.Backend, p projections.Projection) string {
	t.Helper()
	cs, err := sqlstore.Checksum(pt.Ctx(t), b.DB, b.Dialect, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Tables) != 1 || cs.Tables[0].Table != eventcount.Table {
		t.Fatalf("checksum covers %+v, want only %s", cs.Tables, eventcount.Table)
	}
	return cs.SHA256
}

func TestReplayRebuildsTheLiveModel(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		m1, m2, m3 := pt.History(t, "m1", "srv-1"), pt.History(t, "m2", ""), pt.History(t, "m3", "srv-2")
		proj := faulty{poison: map[string]error{m3[1].ID: projections.Poison(errors.New("bad m3@2"))}}
		f := pt.NewFeed()
		r := pt.StartRunner(t, b, f, proj, sqlstore.ProjectionOptions{})

		// A mixed workload: duplicates, reordering, gaps, a poison event, events the bus lost.
		r1 := b.AppendAll(t, m1...)
		r2 := b.AppendAll(t, m2...)
		r3 := b.AppendAll(t, m3...)
		pt.Acked(t, f.Deliver(t, r1[1], r1[0], r1[1], r2[2], r1[3], r1[2]))
		f.Deliver(t, r3[0], r3[1], r3[3], r2[0])
		b.AppendAll(t, pt.History(t, "m4", "srv-1")...) // never delivered
		f.Reconnected <- struct{}{}
		pt.Eventually(t, "catch-up", func() bool { return pt.Status(t, r).Lag == 0 })
		sameCounts(t, counts(t, b), expectedCounts(t, b, m3[1].ID))
		live := checksum(t, b, proj)

		// Damage the live model: the checksum sees it.
		if _, err := b.DB.ExecContext(pt.Ctx(t), `UPDATE event_counts SET count = count + 5 WHERE event_type = ? AND server_id = ?`, "message.queued", "srv-1"); err != nil {
			t.Fatal(err)
		}
		if checksum(t, b, proj) == live {
			t.Fatal("checksum did not change with a row")
		}

		// Rebuild beside the live model while the runner runs, three events per transaction.
		res, err := sqlstore.ReplayWith(pt.Ctx(t), b.DB, b.Dialect, b.Store, proj, pt.Logger(t), sqlstore.ProjectionOptions{BatchSize: 3})
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		total := int64(len(storeRecords(t, b)))
		if int64(res.Events) != total || res.DeadLetters != 1 || int64(res.Applied) != total-1 {
			t.Errorf("replay result %+v, want %d events, %d applied, 1 dead letter", res, total, total-1)
		}
		if got := checksum(t, b, proj); got != live {
			t.Errorf("checksum after replay %s, want the live model's %s", got, live)
		}
		sameCounts(t, counts(t, b), expectedCounts(t, b, m3[1].ID))
		st := pt.Status(t, r)
		if st.Horizon != res.Position || st.Lag != 0 || st.DeadLetters != 1 {
			t.Errorf("status after replay %+v, want horizon %d, lag 0, 1 dead letter", st, res.Position)
		}

		// The checkpoints were replaced too: old events are duplicates, new ones apply once.
		pt.Acked(t, f.Deliver(t, r1[0], r3[3]))
		r5 := b.AppendAll(t, pt.History(t, "m5", "srv-5")...)
		pt.Acked(t, f.Deliver(t, r5[1], r5[0], r5[3], r5[2]))
		sameCounts(t, counts(t, b), expectedCounts(t, b, m3[1].ID))

		// Replaying an unchanged log changes nothing.
		live = checksum(t, b, proj)
		if _, err := sqlstore.Replay(pt.Ctx(t), b.DB, b.Dialect, b.Store, proj); err != nil {
			t.Fatalf("second replay: %v", err)
		}
		if got := checksum(t, b, proj); got != live {
			t.Errorf("second replay changed the model: %s, want %s", got, live)
		}
		// The pool still works for everybody (the replay's connection held shadow tables).
		pt.Acked(t, f.Deliver(t, b.AppendAll(t, pt.Event(t, &events.MessageOpened{}, "m6", 1, "srv-1"))...))
		sameCounts(t, counts(t, b), expectedCounts(t, b, m3[1].ID))
	})
}

// storeRecords returns every record of the store.
func storeRecords(t *testing.T, b *pt.Backend) []events.Record {
	t.Helper()
	recs, err := b.Store.ReadAll(pt.Ctx(t), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestReplayOfAnEmptyLogEmptiesTheModel(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		ctx := pt.Ctx(t)
		if _, err := b.DB.ExecContext(ctx, `INSERT INTO event_counts (event_type, server_id, count) VALUES ('x', '', 3)`); err != nil {
			t.Fatal(err)
		}
		res, err := sqlstore.Replay(ctx, b.DB, b.Dialect, b.Store, eventcount.New())
		if err != nil {
			t.Fatal(err)
		}
		if res.Events != 0 || len(counts(t, b)) != 0 {
			t.Errorf("replay of an empty log: %+v, rows %v", res, counts(t, b))
		}
	})
}

// The replay is generic: another projection (with a secondary index) is rebuilt identically.
func TestReplayRebuildsDeliveryQueue(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		proj := deliveryqueue.Projection{}
		f := pt.NewFeed()
		pt.StartRunner(t, b, f, proj, sqlstore.ProjectionOptions{})
		for i := range 6 {
			h := pt.History(t, fmt.Sprintf("q%d", i), "srv-1")
			recs := b.AppendAll(t, h[:2+i%3]...) // some delivered, some deferred, some attempted
			pt.Acked(t, f.Deliver(t, recs[len(recs)-1], recs[0]))
		}
		sum := func() string {
			cs, err := sqlstore.Checksum(pt.Ctx(t), b.DB, b.Dialect, proj)
			if err != nil {
				t.Fatal(err)
			}
			return cs.SHA256
		}
		rows := b.Scalar(t, `SELECT COUNT(*) FROM delivery_queue`)
		if rows != 4 {
			t.Fatalf("delivery_queue has %d rows, want 4 (two of six messages delivered)", rows)
		}
		live := sum()
		if _, err := b.DB.ExecContext(pt.Ctx(t), `DELETE FROM delivery_queue WHERE message_id = 'q1'`); err != nil {
			t.Fatal(err)
		}
		if sum() == live {
			t.Fatal("checksum did not see a deleted row")
		}
		if _, err := sqlstore.Replay(pt.Ctx(t), b.DB, b.Dialect, b.Store, proj); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if got := sum(); got != live {
			t.Errorf("checksum after replay %s, want %s", got, live)
		}
	})
}

// A replay swapped in while the runner applies a stream of deliveries loses and doubles nothing.
func TestReplayWhileTheRunnerApplies(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		f := pt.NewBufferedFeed(1000)
		r := pt.StartRunner(t, b, f, eventcount.New(), sqlstore.ProjectionOptions{})
		for i := range 10 {
			pt.Acked(t, f.DeliverAll(t, b.AppendAll(t, pt.History(t, fmt.Sprintf("pre%d", i), "srv-1")...)...))
		}
		const streams = 20
		envs := make([][]events.Envelope, streams)
		for i := range envs {
			envs[i] = pt.History(t, fmt.Sprintf("live%d", i), fmt.Sprintf("srv-%d", i%4))
		}
		done := make(chan error, 1)
		go func() {
			ctx := pt.Ctx(t)
			for _, h := range envs {
				if err := b.Store.Append(ctx, h...); err != nil {
					done <- err
					return
				}
				if _, err := b.Store.Pending(ctx, 1); err != nil {
					done <- err
					return
				}
				recs, err := b.Store.ReadStream(ctx, events.StreamMessage, h[0].StreamID, 1)
				if err != nil {
					done <- err
					return
				}
				for _, i := range []int{1, 0, 3, 2, 3} {
					f.Deliveries <- f.Delivery(recs[i])
				}
			}
			done <- nil
		}()
		for range 2 {
			if _, err := sqlstore.Replay(pt.Ctx(t), b.DB, b.Dialect, b.Store, eventcount.New()); err != nil {
				t.Fatalf("replay: %v", err)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for range streams * 5 {
			select {
			case o := <-f.Outcomes:
				if o.Dead {
					t.Errorf("delivery %s dead-lettered: %v", o.ID, o.Reason)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("deliveries did not settle")
			}
		}
		f.Reconnected <- struct{}{}
		pt.Eventually(t, "catch-up", func() bool { return pt.Status(t, r).Horizon == pt.Status(t, r).Head })
		sameCounts(t, counts(t, b), expectedCounts(t, b))
	})
}
