package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/eventcount"
)

// BenchmarkRunnerDeliveries measures deliveries applied per second by one consumer (eventcount,
// every event a new version of one of 100 streams, deliveries waiting in the queue).
func BenchmarkRunnerDeliveries(b *testing.B) {
	for _, name := range pt.Backends {
		b.Run(name, func(b *testing.B) {
			be := pt.Open(b, name)
			f := pt.NewBufferedFeed(b.N + 1)
			pt.StartRunner(b, be, f, eventcount.New(), sqlstore.ProjectionOptions{})
			envs := make([]events.Envelope, b.N)
			for i := range envs {
				envs[i] = pt.Event(b, &events.MessageOpened{}, fmt.Sprintf("bench-%d", i%100), int64(i/100+1), "srv-1")
			}
			var recs []events.Record
			for len(envs) > 0 {
				n := min(500, len(envs))
				recs = append(recs, be.AppendAll(b, envs[:n]...)...)
				envs = envs[n:]
			}
			b.ResetTimer()
			outs := f.DeliverAll(b, recs...)
			b.StopTimer()
			pt.Acked(b, outs)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
