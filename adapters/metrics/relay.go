package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthaste/posthaste/domain/relay"
)

// Relay counts what this process's relay published (relay.Observer).
type Relay struct {
	published    prometheus.Counter
	failures     prometheus.Counter
	leader       prometheus.Gauge
	batchSeconds prometheus.Histogram
}

var _ relay.Observer = (*Relay)(nil)

func newRelay() *Relay {
	return &Relay{
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "posthaste_relay_published_total",
			Help: "Events this process's relay published with confirms and removed from the outbox."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "posthaste_relay_failures_total",
			Help: "Failed relay rounds (retried after a backoff)."}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "posthaste_relay_leader",
			Help: "1 while this process holds the relay lock."}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "posthaste_relay_batch_seconds",
			Help: "Time to publish (with confirms) and ack one outbox batch.", Buckets: prometheus.DefBuckets}),
	}
}

// Published counts a batch confirmed and acked.
func (m *Relay) Published(n int, _ int64, took time.Duration) {
	m.published.Add(float64(n))
	m.batchSeconds.Observe(took.Seconds())
}

// Leader records holding (1) or not holding (0) the relay lock.
func (m *Relay) Leader(leader bool) {
	if leader {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// Failed counts a failed round.
func (m *Relay) Failed(error) { m.failures.Inc() }
