// Package metrics exports Posthaste's Prometheus metrics: what this process did (event appends,
// delivery attempts, relay batches, webhook attempts), counted by the observers the domain
// declares, and the state of the platform (head, relay and projection lag, dead letters,
// backends, the delivery queue, the webhook backlog), read from the application when /metrics
// is scraped. Metric names, help texts and labels are an interface (dashboards and alerts read
// them): never rename one.
//
// It owns the registry and the collectors; it decides nothing and reads no database itself: the
// state comes from the Sources the wiring passes. It never imports another adapter.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/posthaste/posthaste/domain/platform"
)

// scrapeTimeout bounds the reads of one scrape (the platform's status, the queues).
const scrapeTimeout = 5 * time.Second

// Metrics is one process's registry: the Go and process collectors, the observers of the work
// this process does, and (once Handler is called) the platform's state at scrape time.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	appendSeconds prometheus.Histogram
	deliveries    *Deliveries
	relay         *Relay
	webhooks      *Webhooks

	once sync.Once
}

// New returns the registry with every collector of the process's own work registered. It
// refuses a nil logger (scrape errors are logged).
func New(logger *slog.Logger) (*Metrics, error) {
	if logger == nil {
		return nil, errors.New("metrics: new: logger is nil")
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: logger, appendSeconds: newAppendHistogram(),
		deliveries: newDeliveries(), relay: newRelay(), webhooks: newWebhooks()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(m.appendSeconds)
	m.reg.MustRegister(m.deliveries.byOutcome, m.deliveries.seconds)
	m.reg.MustRegister(m.relay.published, m.relay.failures, m.relay.leader, m.relay.batchSeconds)
	m.reg.MustRegister(m.webhooks.attempts, m.webhooks.seconds)
	return m, nil
}

// Deliveries is the delivery worker's observer (delivery.Observer).
func (m *Metrics) Deliveries() *Deliveries { return m.deliveries }

// Relay is the relay's observer (relay.Observer).
func (m *Metrics) Relay() *Relay { return m.relay }

// Webhooks is the webhook sender's observer (webhooksender.Observer).
func (m *Metrics) Webhooks() *Webhooks { return m.webhooks }

// QueueStats is the delivery queue as /metrics shows it.
type QueueStats struct {
	Depth  int64     // messages waiting for delivery (queued or deferred)
	Oldest time.Time // when the oldest of them was queued (zero when none waits)
}

// WebhookBacklog is the webhook delivery queue as /metrics shows it.
type WebhookBacklog struct {
	Pending      int64     // deliveries waiting for an attempt (first or retry, in flight included)
	OldestEvent  time.Time // when the event of the oldest pending delivery occurred (zero when none)
	DisabledGone int64     // subscriptions disabled after their receiver answered 410 Gone
}

// Sources are the reads of a scrape. Each is called once per scrape with a bounded context; a
// source that fails leaves its metrics out of that scrape.
type Sources struct {
	// Status is the platform's state: the application's Queries.Status, asked as an operator.
	Status func(ctx context.Context) (platform.Status, error)
	// DeliveryQueue reads the delivery queue's depth and oldest message.
	DeliveryQueue func(ctx context.Context) (QueueStats, error)
	// Webhooks reads the webhook backlog.
	Webhooks func(ctx context.Context) (WebhookBacklog, error)
}

// Handler registers the scrape-time collectors of src and returns the handler of GET /metrics
// (the Prometheus text format). It refuses a missing source, and a second call.
func (m *Metrics) Handler(src Sources) (http.Handler, error) {
	var errs []error
	if src.Status == nil {
		errs = append(errs, errors.New("status source is nil"))
	}
	if src.DeliveryQueue == nil {
		errs = append(errs, errors.New("delivery queue source is nil"))
	}
	if src.Webhooks == nil {
		errs = append(errs, errors.New("webhooks source is nil"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("metrics: handler: %w", err)
	}
	first := false
	m.once.Do(func() { first = true })
	if !first {
		return nil, errors.New("metrics: handler: already made (one registry serves one /metrics)")
	}
	m.reg.MustRegister(statusCollector{src.Status}, queueCollector{src.DeliveryQueue}, webhookCollector{src.Webhooks})
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelError)}), nil
}

// scrapeContext is the context of one collector's reads.
func scrapeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), scrapeTimeout)
}

// ageSeconds is how long ago t was (0 for the zero time, never negative).
func ageSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return max(0, time.Since(t).Seconds())
}
