package projections_test

import (
	"fmt"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/eventcount"
)

// BenchmarkRunnerDeliveries measures deliveries applied per second by one consumer (eventcount,
// every event a new version of one of 100 streams, deliveries waiting in the queue).
func BenchmarkRunnerDeliveries(b *testing.B) {
	for _, name := range []string{"sqlite", "mariadb"} {
		b.Run(name, func(b *testing.B) {
			var be *backend
			if name == "sqlite" {
				s := sqlstoretest.SQLite(b)
				be = &backend{store: s, db: projections.DB{SQL: s.DB(), Dialect: projections.DialectSQLite}}
			} else {
				s := sqlstoretest.MariaDB(b)
				be = &backend{store: s, db: projections.DB{SQL: s.DB(), Dialect: projections.DialectMySQL}}
			}
			f := newBufferedFeed(b.N + 1)
			startRunner(b, be, f, eventcount.New(), projections.Options{})
			envs := make([]events.Envelope, b.N)
			for i := range envs {
				envs[i] = ev(b, &events.MessageOpened{}, fmt.Sprintf("bench-%d", i%100), int64(i/100+1), "srv-1")
			}
			var recs []events.Record
			for len(envs) > 0 {
				n := min(500, len(envs))
				recs = append(recs, be.appendAll(b, envs[:n]...)...)
				envs = envs[n:]
			}
			b.ResetTimer()
			outs := f.deliverAll(b, recs...)
			b.StopTimer()
			acked(b, outs)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
