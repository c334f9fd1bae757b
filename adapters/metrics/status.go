package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posthaste/posthaste/domain/platform"
)

var (
	descHead     = prometheus.NewDesc("posthaste_event_head_position", "Highest position assigned in the event log.", nil, nil)
	descRelayLag = prometheus.NewDesc("posthaste_relay_lag_events",
		"Events committed but not yet confirmed by the bus (outbox rows).", nil, nil)
	descProjLag = prometheus.NewDesc("posthaste_projection_lag_events",
		"Events of the log not yet applied by a projection (head - applied).", []string{"projection"}, nil)
	descDeadLetters = prometheus.NewDesc("posthaste_dead_letters",
		"Poison events of a projection: recorded in the database, or waiting in the bus's dead-letter queue.", []string{"projection", "where"}, nil)
	descBackendUp = prometheus.NewDesc("posthaste_backend_up", "1 when the backend answered its ping.", []string{"backend"}, nil)
)

// statusCollector exports the platform's status at scrape time.
type statusCollector struct {
	read func(ctx context.Context) (platform.Status, error)
}

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descHead
	ch <- descRelayLag
	ch <- descProjLag
	ch <- descDeadLetters
	ch <- descBackendUp
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := scrapeContext()
	defer cancel()
	st, err := c.read(ctx)
	if err != nil {
		return
	}
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
