package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
)

func newAppendHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "posthaste_event_append_seconds",
		Help:    "Latency of EventStore.Append (one call, possibly batched with others by group commit).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
}

// TimeAppends returns es with the latency of every Append observed into
// posthaste_event_append_seconds; its other methods are es's. Reads are not timed.
func (m *Metrics) TimeAppends(es domain.EventStore) domain.EventStore {
	return timedEvents{EventStore: es, h: m.appendSeconds}
}

type timedEvents struct {
	domain.EventStore
	h prometheus.Histogram
}

func (s timedEvents) Append(ctx context.Context, envs ...events.Envelope) error {
	start := time.Now()
	err := s.EventStore.Append(ctx, envs...)
	s.h.Observe(time.Since(start).Seconds())
	return err
}
