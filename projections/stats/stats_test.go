package stats_test

import (
	"context"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/projections/stats"
)

func TestStatsUnderDuplicatesReorderingAndGaps(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		ctx := context.Background()
		pt.DeliverMessy(t, b, stats.New(), pt.Workload(t), 11)
		live, err := sqlstore.Checksum(ctx, b.DB, b.Dialect, stats.New())
		if err != nil {
			t.Fatal(err)
		}
		rep, err := stats.BuildReport(ctx, b.DB, stats.ReportRequest{Server: "acme/main", From: pt.T0.Add(-24 * time.Hour), To: pt.T0.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		c := rep.Total
		if c.Queued != 5 || c.Delivered != 3 || c.Deferred != 1 || c.Bounced != 1 || c.BouncedHard != 1 || c.Held != 1 || c.Expired != 1 {
			t.Errorf("totals %+v", c)
		}
		if c.BounceReasons["userunknown"] != 1 || c.BounceRate != 0.25 {
			t.Errorf("bounce reasons %v rate %v", c.BounceReasons, c.BounceRate)
		}
		// Latencies (queued → delivered): m1 2 min, m2 4 min, m4 4 min.
		if c.LatencyMS["p50"] < 240000 || c.LatencyMS["p50"] > 240000*6/5 || c.LatencyMS["p99"] < 240000 {
			t.Errorf("latency %v", c.LatencyMS)
		}
		if len(rep.Buckets) != 1 || rep.Buckets[0].Queued != 5 {
			t.Errorf("day buckets %+v", rep.Buckets)
		}
		if len(rep.TopDomains) != 2 || rep.TopDomains[0] != (stats.DomainOutcome{Domain: "remote.test", Queued: 4, Delivered: 3, Deferred: 1, Expired: 1}) ||
			rep.TopDomains[1] != (stats.DomainOutcome{Domain: "other.test", Queued: 1, Bounced: 1}) {
			t.Errorf("top domains %+v", rep.TopDomains)
		}
		hours, _ := stats.BuildReport(ctx, b.DB, stats.ReportRequest{Server: "acme/main", From: pt.T0, To: pt.T0.Add(24 * time.Hour), ByHour: true})
		if len(hours.Buckets) != 5 || hours.Buckets[1].Queued != 1 || hours.Buckets[1].Deferred != 1 {
			t.Errorf("hour buckets %+v", hours.Buckets)
		}
		// A time zone moves the day boundary: in Pacific/Kiritimati (UTC+14) 10:00Z is the next day.
		kz, _ := time.LoadLocation("Pacific/Kiritimati")
		zoned, _ := stats.BuildReport(ctx, b.DB, stats.ReportRequest{Server: "acme/main", From: pt.T0.Add(-24 * time.Hour), To: pt.T0.Add(24 * time.Hour), Zone: kz})
		if len(zoned.Buckets) != 2 || zoned.Buckets[0].Queued != 1 || zoned.Buckets[1].Queued != 4 {
			t.Errorf("Kiritimati days %+v", zoned.Buckets)
		}
		if _, err := sqlstore.Replay(ctx, b.DB, b.Dialect, b.Store, stats.New()); err != nil {
			t.Fatal(err)
		}
		replayed, _ := sqlstore.Checksum(ctx, b.DB, b.Dialect, stats.New())
		if replayed.SHA256 != live.SHA256 {
			t.Errorf("replay differs from the live stats built from messy deliveries")
		}
	})
}

func TestPercentileFromBuckets(t *testing.T) {
	h := map[int]int64{}
	for ms := 1; ms <= 1000; ms++ {
		h[stats.LatencyBucket(time.Duration(ms)*time.Millisecond)]++
	}
	for p, want := range map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.99: 990 * time.Millisecond} {
		got := stats.Percentile(h, p)
		if got < want || got > want*6/5 {
			t.Errorf("p%v = %v, want within 20%% above %v", p*100, got, want)
		}
	}
}
