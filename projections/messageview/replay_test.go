package messageview_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/messageview"
	"github.com/posthaste/posthaste/projections/stats"
)

// liveRunner runs the message view and the stats on deliveries handed to it by deliver.
type liveRunner struct {
	ch    map[string]chan projections.Delivery
	acked chan bool
}

func (l *liveRunner) Subscribe(_ context.Context, name string) (<-chan projections.Delivery, <-chan struct{}, error) {
	return l.ch[name], make(chan struct{}), nil
}

func startLive(t *testing.T, b *pt.Backend) *liveRunner {
	t.Helper()
	l := &liveRunner{ch: map[string]chan projections.Delivery{messageview.Name: make(chan projections.Delivery, 1000),
		stats.Name: make(chan projections.Delivery, 1000)}, acked: make(chan bool, 2000)}
	pt.Run(t, b, l, []projections.Projection{messageview.New(), stats.New()}, sqlstore.ProjectionOptions{CatchUpInterval: time.Hour})
	return l
}

// deliver hands recs to both projections and waits until every delivery is settled.
func (l *liveRunner) deliver(t *testing.T, recs []events.Record) {
	t.Helper()
	for _, ch := range l.ch {
		for _, r := range recs {
			ch <- projections.Delivery{Record: r, Ack: func() error { l.acked <- true; return nil },
				DeadLetter: func(err error) error {
					t.Errorf("dead-lettered %s: %v", r.Envelope.Type, err)
					l.acked <- false
					return nil
				}}
		}
	}
	deadline := time.After(60 * time.Second)
	for range 2 * len(recs) {
		select {
		case <-l.acked:
		case <-deadline:
			t.Fatal("deliveries not settled in time")
		}
	}
}

func appendRecs(t *testing.T, b *pt.Backend, envs []events.Envelope) []events.Record {
	t.Helper()
	ctx := context.Background()
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
	ids := map[string]bool{}
	for _, e := range envs {
		ids[e.ID] = true
	}
	var out []events.Record
	for _, r := range all {
		if ids[r.Envelope.ID] {
			out = append(out, r)
		}
	}
	if len(out) != len(envs) {
		t.Fatalf("read back %d of %d", len(out), len(envs))
	}
	return out
}

func sums(t *testing.T, b *pt.Backend) [2]string {
	t.Helper()
	var out [2]string
	for i, p := range []projections.Projection{messageview.New(), stats.New()} {
		cs, err := sqlstore.Checksum(context.Background(), b.DB, b.Dialect, p)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = cs.SHA256
	}
	return out
}

func names(t *testing.T, b *pt.Backend, sqliteQ, mysqlQ string) []string {
	t.Helper()
	q := sqliteQ
	if b.Dialect == sqlstore.MariaDB {
		q = mysqlQ
	}
	rows, err := b.DB.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// The message view and the stats are rebuilt in new tables and swapped in by renaming: the
// rows, the indexes and the checkpoints after a replay (twice in a row, with the live runner
// running) are those of the live model, and the runner goes on from them.
func TestReplaySwapsByRenameWithTheRunnerRunning(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		ctx := context.Background()
		live := startLive(t, b)
		recs := appendRecs(t, b, pt.Workload(t))
		live.deliver(t, recs)
		want := sums(t, b)
		indexes := func() []string {
			return names(t, b, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message_view' AND sql IS NOT NULL`,
				`SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'message_view'`)
		}
		leftovers := func() []string {
			return names(t, b, `SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%!_!_r%' ESCAPE '!'`,
				`SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE '%!_!_r%' ESCAPE '!'`)
		}
		idx := indexes()
		if len(idx) < 8 {
			t.Fatalf("message_view indexes before the replay: %v", idx)
		}
		for round := 1; round <= 2; round++ {
			res, err := sqlstore.ReplayAll(ctx, b.DB, b.Dialect, b.Store, []projections.Projection{messageview.New(), stats.New()},
				slog.New(slog.NewTextHandler(io.Discard, nil)), sqlstore.ProjectionOptions{BatchSize: 4})
			if err != nil {
				t.Fatalf("replay %d: %v", round, err)
			}
			if len(res) != 2 || res[0].Events != len(recs) || res[1].Events != len(recs) || res[0].DeadLetters != 0 {
				t.Errorf("replay %d: %+v, want 2 results of %d events", round, res, len(recs))
			}
			if got := sums(t, b); got != want {
				t.Errorf("replay %d: checksums %v, want the live ones %v", round, got, want)
			}
			if got := indexes(); !slices.Equal(got, idx) {
				t.Errorf("replay %d: message_view indexes %v, want %v", round, got, idx)
			}
			if l := leftovers(); len(l) != 0 {
				t.Errorf("replay %d left tables behind: %v", round, l)
			}
		}

		// The checkpoints were swapped in too: every old event is a duplicate now (counters
		// unchanged), and a new stream applies once.
		live.deliver(t, recs)
		if got := sums(t, b); got != want {
			t.Errorf("old events applied again after the replay: %v, want %v", got, want)
		}
		more := appendRecs(t, b, pt.Stream(t, "m7", "acme/main", pt.T0.Add(5*time.Hour), pt.Queued("new@remote.test", "After"),
			&events.MessageAttempted{Attempt: 1, MXHost: "mx.remote.test", ReplyCode: 250, ReplyText: "ok", Result: "delivered"},
			&events.MessageDelivered{ReplyCode: 250, Attempt: 1}))
		live.deliver(t, append(more, more[1]))
		after := sums(t, b)
		if after == want {
			t.Fatal("a new stream changed nothing")
		}
		if _, err := sqlstore.ReplayAll(ctx, b.DB, b.Dialect, b.Store, []projections.Projection{messageview.New(), stats.New()},
			slog.New(slog.NewTextHandler(io.Discard, nil)), sqlstore.ProjectionOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := sums(t, b); got != after {
			t.Errorf("replay after new events: %v, want the live %v", got, after)
		}
	})
}
