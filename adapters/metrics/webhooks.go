package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Webhooks counts this process's webhook attempts (the webhook sender's Observer).
type Webhooks struct {
	attempts *prometheus.CounterVec
	seconds  prometheus.Histogram
}

func newWebhooks() *Webhooks {
	m := &Webhooks{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "posthaste_webhook_attempts_total",
			Help: "Webhook HTTP attempts made by this process, by result (succeeded: a 2xx answer; failed: anything else)."}, []string{"result"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "posthaste_webhook_attempt_seconds",
			Help: "Duration of one webhook attempt (connect to the last response byte read).", Buckets: prometheus.DefBuckets}),
	}
	// Both results are present from the start, so a rate over them is defined before the first failure.
	m.attempts.WithLabelValues("succeeded")
	m.attempts.WithLabelValues("failed")
	return m
}

// Attempted counts one attempt by result, and its duration.
func (m *Webhooks) Attempted(succeeded bool, took time.Duration) {
	result := "failed"
	if succeeded {
		result = "succeeded"
	}
	m.attempts.WithLabelValues(result).Inc()
	m.seconds.Observe(took.Seconds())
}

var (
	descWebhookPending = prometheus.NewDesc("posthaste_webhook_deliveries_pending",
		"Webhook deliveries waiting for an attempt (first or retry, in flight included).", nil, nil)
	descWebhookOldest = prometheus.NewDesc("posthaste_webhook_oldest_pending_age_seconds",
		"Age of the event of the oldest pending webhook delivery (0 when none is pending).", nil, nil)
	descWebhookGone = prometheus.NewDesc("posthaste_webhook_subscriptions_disabled_gone",
		"Webhook subscriptions disabled after their receiver answered 410 Gone (and not enabled again).", nil, nil)
)

// webhookCollector reads the webhook backlog at scrape time.
type webhookCollector struct {
	read func(ctx context.Context) (WebhookBacklog, error)
}

func (c webhookCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWebhookPending
	ch <- descWebhookOldest
	ch <- descWebhookGone
}

func (c webhookCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := scrapeContext()
	defer cancel()
	s, err := c.read(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descWebhookPending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(descWebhookOldest, prometheus.GaugeValue, ageSeconds(s.OldestEvent))
	ch <- prometheus.MustNewConstMetric(descWebhookGone, prometheus.GaugeValue, float64(s.DisabledGone))
}
