package sqlstore_test

import (
	"fmt"
	"sort"
	"testing"

	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
)

// The engine's tests run the eventcount projection (one row per event type and server) on the
// shared harness (projectiontest); these helpers compare its rows with the store's events.

// counts reads event_counts as "type|server" -> count.
func counts(t testing.TB, b *pt.Backend) map[string]int64 {
	t.Helper()
	rows, err := b.DB.QueryContext(pt.Ctx(t), `SELECT event_type, server_id, count FROM event_counts`)
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
func expectedCounts(t testing.TB, b *pt.Backend, except ...string) map[string]int64 {
	t.Helper()
	skip := map[string]bool{}
	for _, id := range except {
		skip[id] = true
	}
	out := map[string]int64{}
	var after int64
	for {
		recs, err := b.Store.ReadAll(pt.Ctx(t), after, 500)
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
