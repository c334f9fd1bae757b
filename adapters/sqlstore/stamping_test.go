package sqlstore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/eventstoretest"
)

// analyzedRows runs ANALYZE FORMAT=JSON on query (it executes it) and returns, per table, the
// rows the engine actually read (r_rows times r_loops), and whether a filesort ran.
func analyzedRows(t *testing.T, s *sqlstore.Store, query string, args ...any) (map[string]float64, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var plan string
	if err := s.DB().QueryRowContext(ctx, "ANALYZE FORMAT=JSON "+query, args...).Scan(&plan); err != nil {
		t.Fatalf("ANALYZE %s: %v", query, err)
	}
	read := map[string]float64{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if name, ok := x["table_name"].(string); ok {
				rows, _ := x["r_rows"].(float64)
				loops, _ := x["r_loops"].(float64)
				read[name] += rows * max(loops, 1)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var doc any
	if err := json.Unmarshal([]byte(plan), &doc); err != nil {
		t.Fatalf("plan: %v\n%s", err, plan)
	}
	walk(doc)
	return read, strings.Contains(plan, `"filesort"`)
}

// TestStampingReadsOnlyTheBatch is the regression test of the 1M-event run that slowed to
// ~350 positions/s: with thousands of unstamped events behind thousands already stamped and
// acked, finding the next batch to stamp and reading the next batch to publish must read
// O(batch) rows (measured by the engine, not timed), never the backlog or the log.
func TestStampingReadsOnlyTheBatch(t *testing.T) {
	s := sqlstoretest.MariaDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const stamped, backlog, batch = 3000, 5000, 100
	eventstoretest.AppendBacklog(t, s, stamped+backlog)
	var last int64
	for done := 0; done < stamped; {
		recs, err := s.PendingAfter(ctx, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		pos := make([]int64, len(recs))
		for i, r := range recs {
			pos[i] = r.Position
		}
		if err := s.Ack(ctx, pos); err != nil {
			t.Fatal(err)
		}
		last = pos[len(pos)-1]
		done += len(recs)
	}
	if _, err := s.DB().ExecContext(ctx, `ANALYZE TABLE events, outbox`); err != nil {
		t.Fatal(err)
	}

	read, sorted := analyzedRows(t, s, sqlstore.UnstampedQuery, batch)
	if sorted || read["events"] > batch+1 {
		t.Errorf("finding %d events to stamp read %v rows (filesort %v) with %d stamped and %d unstamped; want <= %d and no filesort",
			batch, read, sorted, stamped, backlog, batch+1)
	}

	// Stamp one batch past the acked ones, then read it as the relay's read-ahead does.
	recs, err := s.PendingAfter(ctx, last, batch)
	if err != nil || len(recs) != batch {
		t.Fatalf("PendingAfter: %d records, %v", len(recs), err)
	}
	read, sorted = analyzedRows(t, s, sqlstore.PendingQuery, last, batch)
	if sorted || read["o"] > batch+1 || read["e"] > batch+1 {
		t.Errorf("reading %d pending entries read %v rows (filesort %v); want <= %d per table and no filesort", batch, read, sorted, batch+1)
	}
}
