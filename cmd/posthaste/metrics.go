package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// Metric names (snake_case, prefixed posthaste_).
const (
	metricAppendSeconds = "posthaste_event_append_seconds"
	metricHeadPosition  = "posthaste_event_head_position"
	metricRelayLag      = "posthaste_relay_lag_events"
	metricProjectionLag = "posthaste_projection_lag_events"
	metricDeadLetters   = "posthaste_dead_letters"
	metricBackendUp     = "posthaste_backend_up"
)

// newRegistry returns a registry with the Go and process collectors, the append latency
// histogram and the platform's gauges, read from collectStatus at scrape time.
func newRegistry(p *Platform) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(p.AppendSeconds, &statusCollector{p: p})
	if p.attempts != nil {
		p.attempts.register(reg, p)
	}
	if p.relayMetrics != nil {
		reg.MustRegister(p.relayMetrics.published, p.relayMetrics.failures, p.relayMetrics.leader, p.relayMetrics.batchSeconds)
	}
	webhookSenderMetrics.register(reg, p)
	return reg
}

func newAppendHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    metricAppendSeconds,
		Help:    "Latency of EventStore.Append (one call, possibly batched with others by group commit).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
}

var (
	descHead        = prometheus.NewDesc(metricHeadPosition, "Highest position assigned in the event log.", nil, nil)
	descRelayLag    = prometheus.NewDesc(metricRelayLag, "Events committed but not yet confirmed by the bus (outbox rows).", nil, nil)
	descProjLag     = prometheus.NewDesc(metricProjectionLag, "Events of the log not yet applied by a projection (head - applied).", []string{"projection"}, nil)
	descDeadLetters = prometheus.NewDesc(metricDeadLetters, "Poison events of a projection: recorded in the database, or waiting in the bus's dead-letter queue.", []string{"projection", "where"}, nil)
	descBackendUp   = prometheus.NewDesc(metricBackendUp, "1 when the backend answered its ping.", []string{"backend"}, nil)
)

// statusCollector exports collectStatus at scrape time.
type statusCollector struct{ p *Platform }

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHead
	ch <- descRelayLag
	ch <- descProjLag
	ch <- descDeadLetters
	ch <- descBackendUp
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	st := collectStatus(ctx, c.p.Store, c.p.ProjectionNames(), c.p.busDeadLetters)
	for _, b := range st.Backends {
		up := 0.0
		if b.OK {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descBackendUp, prometheus.GaugeValue, up, b.Name)
	}
	ch <- prometheus.MustNewConstMetric(descHead, prometheus.GaugeValue, float64(st.Head))
	ch <- prometheus.MustNewConstMetric(descRelayLag, prometheus.GaugeValue, float64(st.RelayLag))
	for _, ps := range st.Projections {
		ch <- prometheus.MustNewConstMetric(descProjLag, prometheus.GaugeValue, float64(ps.Lag), ps.Projection)
		ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.GaugeValue, float64(ps.DeadLetters), ps.Projection, "database")
		ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.GaugeValue, float64(ps.BusDeadLetters), ps.Projection, "bus")
	}
}

// timedStore measures Append latency; everything else passes through.
type timedStore struct {
	domain.EventStore
	h prometheus.Histogram
}

func (s timedStore) Append(ctx context.Context, envs ...events.Envelope) error {
	start := time.Now()
	err := s.EventStore.Append(ctx, envs...)
	s.h.Observe(time.Since(start).Seconds())
	return err
}

// relayMetrics is the relay's Observer: what this process's relay published.
type relayMetrics struct {
	published    prometheus.Counter
	failures     prometheus.Counter
	leader       prometheus.Gauge
	batchSeconds prometheus.Histogram
}

func newRelayMetrics() *relayMetrics {
	return &relayMetrics{
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

func (m *relayMetrics) Published(n int, _ int64, took time.Duration) {
	m.published.Add(float64(n))
	m.batchSeconds.Observe(took.Seconds())
}

func (m *relayMetrics) Leader(leader bool) {
	if leader {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

func (m *relayMetrics) Failed(error) { m.failures.Inc() }

// webhookMetrics counts what this process's webhook sender did (webhooksender.Observer). One per
// process: the webhooks role and /metrics share it.
type webhookMetrics struct {
	attempts *prometheus.CounterVec
	seconds  prometheus.Histogram
}

var webhookSenderMetrics = &webhookMetrics{
	attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "posthaste_webhook_attempts_total",
		Help: "Webhook HTTP attempts made by this process, by result (succeeded: a 2xx answer; failed: anything else)."}, []string{"result"}),
	seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "posthaste_webhook_attempt_seconds",
		Help: "Duration of one webhook attempt (connect to the last response byte read).", Buckets: prometheus.DefBuckets}),
}

func (m *webhookMetrics) Attempted(succeeded bool, took time.Duration) {
	result := "failed"
	if succeeded {
		result = "succeeded"
	}
	m.attempts.WithLabelValues(result).Inc()
	m.seconds.Observe(took.Seconds())
}

func (m *webhookMetrics) register(reg prometheus.Registerer, p *Platform) {
	// Both results are present from the start, so a rate over them is defined before the first failure.
	m.attempts.WithLabelValues("succeeded")
	m.attempts.WithLabelValues("failed")
	reg.MustRegister(m.attempts, m.seconds, webhookCollector{p})
}

var (
	descWebhookPending = prometheus.NewDesc("posthaste_webhook_deliveries_pending",
		"Webhook deliveries waiting for an attempt (first or retry, in flight included).", nil, nil)
	descWebhookOldest = prometheus.NewDesc("posthaste_webhook_oldest_pending_age_seconds",
		"Age of the event of the oldest pending webhook delivery (0 when none is pending).", nil, nil)
	descWebhookGone = prometheus.NewDesc("posthaste_webhook_subscriptions_disabled_gone",
		"Webhook subscriptions disabled after their receiver answered 410 Gone (and not enabled again).", nil, nil)
)

// webhookCollector reads the webhook tables at scrape time.
type webhookCollector struct{ p *Platform }

func (c webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWebhookPending
	ch <- descWebhookOldest
	ch <- descWebhookGone
}

func (c webhookCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := webhookqueue.NewReader(c.p.DB.SQL)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	s, err := st.Stats(ctx)
	if err != nil {
		return
	}
	age := 0.0
	if !s.OldestEvent.IsZero() {
		age = max(0, time.Since(s.OldestEvent).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(descWebhookPending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(descWebhookOldest, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(descWebhookGone, prometheus.GaugeValue, float64(s.DisabledGone))
}
