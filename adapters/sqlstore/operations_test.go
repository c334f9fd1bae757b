package sqlstore_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/deliveryqueue"
	"github.com/posthaste/posthaste/projections/eventcount"
)

// jsonOf is what `status --json`, `replay --json` and `projections checksum --json` print of v.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewReadSideRefusesBadWiring(t *testing.T) {
	b := pt.Open(t, "sqlite")
	st := b.Store.(*sqlstore.Store)
	_, err := sqlstore.NewReadSide(nil, nil, nil, sqlstore.ProjectionOptions{})
	for _, want := range []string{"store is nil", "logger is nil", "no projections"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewReadSide(nil…) = %v, want it to say %q", err, want)
		}
	}
	_, err = sqlstore.NewReadSide(st, []projections.Projection{eventcount.New(), eventcount.New()}, pt.Logger(t), sqlstore.ProjectionOptions{})
	if err == nil || !strings.Contains(err.Error(), `"event_counts" listed twice`) {
		t.Errorf("two projections of one name: %v", err)
	}
}

// TestReadSideAnswersAsTheEngine checks that the application's read side reports exactly what
// the engine's functions report (the same JSON, so the CLI's outputs do not change), before and
// after a replay.
func TestReadSideAnswersAsTheEngine(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		ctx := pt.Ctx(t)
		st := b.Store.(*sqlstore.Store)
		projs := []projections.Projection{eventcount.New(), deliveryqueue.Projection{}}
		names := []string{eventcount.Name, deliveryqueue.Name}
		rs, err := sqlstore.NewReadSide(st, projs, pt.Logger(t), sqlstore.ProjectionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		info := rs.Projections()
		if len(info) != 2 || info[0].Name != eventcount.Name || info[1].Name != deliveryqueue.Name ||
			jsonOf(t, info[1].Tables) != jsonOf(t, deliveryqueue.Projection{}.Tables()) {
			t.Errorf("Projections() = %+v", info)
		}

		b.AppendAll(t, pt.History(t, "ops-m1", "srv-1")...)
		b.AppendAll(t, pt.History(t, "ops-m2", "srv-2")...)
		compare := func(when string) {
			t.Helper()
			head, err := rs.Head(ctx)
			want, werr := sqlstore.HeadPosition(ctx, st, 0)
			if err != nil || werr != nil || head != want || head == 0 {
				t.Errorf("%s: Head = %d, %v; engine %d, %v", when, head, err, want, werr)
			}
			lag, err := rs.RelayLag(ctx)
			wantLag, werr := sqlstore.OutboxPending(ctx, st.DB())
			if err != nil || werr != nil || lag != wantLag || lag != 8 {
				t.Errorf("%s: RelayLag = %d, %v; engine %d, %v (want 8: nothing acked)", when, lag, err, wantLag, werr)
			}
			got, err := rs.Status(ctx, names)
			if err != nil {
				t.Fatal(err)
			}
			engine, err := sqlstore.ReadStatus(ctx, st.DB(), st, names)
			if err != nil {
				t.Fatal(err)
			}
			if jsonOf(t, got) != jsonOf(t, engine) {
				t.Errorf("%s: Status\n got %s\nwant %s", when, jsonOf(t, got), jsonOf(t, engine))
			}
		}
		compare("before a replay")

		replayed, err := rs.Replay(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		engine, err := sqlstore.ReplayAll(ctx, st.DB(), st.Dialect(), st, projs, pt.Logger(t), sqlstore.ProjectionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if jsonOf(t, replayed) != jsonOf(t, engine) || len(replayed) != 2 || replayed[0].Events != 8 {
			t.Errorf("Replay\n got %s\nwant %s (8 events each)", jsonOf(t, replayed), jsonOf(t, engine))
		}
		compare("after a replay")

		sums, err := rs.Checksum(ctx, []string{deliveryqueue.Name, eventcount.Name})
		if err != nil {
			t.Fatal(err)
		}
		var want []sqlstore.ProjectionChecksum
		for _, p := range []projections.Projection{deliveryqueue.Projection{}, eventcount.New()} {
			sum, err := sqlstore.Checksum(ctx, st.DB(), st.Dialect(), p)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, sum)
		}
		if jsonOf(t, sums) != jsonOf(t, want) {
			t.Errorf("Checksum\n got %s\nwant %s", jsonOf(t, sums), jsonOf(t, want))
		}

		for _, op := range []func() (any, error){
			func() (any, error) { return rs.Replay(ctx, []string{eventcount.Name, "nope"}) },
			func() (any, error) { return rs.Checksum(ctx, []string{"nope"}) },
		} {
			res, err := op()
			if err == nil || !strings.Contains(err.Error(), `unknown projection "nope"`) || !strings.Contains(err.Error(), "known: event_counts, delivery_queue") {
				t.Errorf("unknown name: %v", err)
			}
			if jsonOf(t, res) != "null" {
				t.Errorf("unknown name: results %s, want none", jsonOf(t, res))
			}
		}
	})
}
