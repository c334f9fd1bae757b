package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthaste/posthaste/domain/delivery"
)

// Deliveries counts this process's delivery attempts by outcome (delivery.Observer).
type Deliveries struct {
	byOutcome *prometheus.CounterVec
	seconds   prometheus.Histogram
}

var _ delivery.Observer = (*Deliveries)(nil)

func newDeliveries() *Deliveries {
	return &Deliveries{
		byOutcome: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posthaste_delivery_attempts_total", Help: "Delivery attempts by result (delivered, deferred, bounced).",
		}, []string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "posthaste_delivery_attempt_seconds", Help: "Duration of one delivery attempt.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
}

// Attempted counts one attempt and its duration.
func (m *Deliveries) Attempted(o delivery.Outcome, d time.Duration) {
	m.byOutcome.WithLabelValues(string(o)).Inc()
	m.seconds.Observe(d.Seconds())
}

var (
	descQueueDepth  = prometheus.NewDesc("posthaste_queue_depth", "Messages waiting for delivery (queued or deferred).", nil, nil)
	descQueueOldest = prometheus.NewDesc("posthaste_queue_oldest_age_seconds", "Age of the oldest message waiting for delivery.", nil, nil)
)

// queueCollector reads the delivery queue's depth and oldest message at scrape time.
type queueCollector struct {
	read func(ctx context.Context) (QueueStats, error)
}

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descQueueDepth
	ch <- descQueueOldest
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := scrapeContext()
	defer cancel()
	q, err := c.read(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(q.Depth))
	ch <- prometheus.MustNewConstMetric(descQueueOldest, prometheus.GaugeValue, ageSeconds(q.Oldest))
}
