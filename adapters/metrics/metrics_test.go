package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/metrics"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/delivery"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/events"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// appendOnly is an event store whose Append answers err (the other methods are not used).
type appendOnly struct {
	domain.EventStore
	err   error
	calls int
}

func (s *appendOnly) Append(context.Context, ...events.Envelope) error {
	s.calls++
	return s.err
}

func sources() metrics.Sources {
	return metrics.Sources{
		Status: func(context.Context) (platform.Status, error) {
			return platform.Status{Backend: "embedded", Head: 42, RelayLag: 3,
				Backends: []platform.BackendState{{Name: "sqlite", OK: true}, {Name: "redis", OK: false, Error: "down"}},
				Projections: []platform.ProjectionProgress{{ProjectionStatus: platform.ProjectionStatus{Projection: "event_counts", Lag: 7, DeadLetters: 2},
					BusDeadLetters: 1}},
			}, nil
		},
		DeliveryQueue: func(context.Context) (metrics.QueueStats, error) {
			return metrics.QueueStats{Depth: 5, Oldest: time.Now().Add(-time.Hour)}, nil
		},
		Webhooks: func(context.Context) (metrics.WebhookBacklog, error) {
			return metrics.WebhookBacklog{Pending: 4, DisabledGone: 1}, nil
		},
	}
}

func scrape(t *testing.T, m *metrics.Metrics, src metrics.Sources) string {
	t.Helper()
	h, err := m.Handler(src)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics answered %d", rec.Code)
	}
	return rec.Body.String()
}

func TestScrapeShowsTheWorkAndTheState(t *testing.T) {
	m, err := metrics.New(discard)
	if err != nil {
		t.Fatal(err)
	}
	store := &appendOnly{err: errors.New("conflict")}
	es := m.TimeAppends(store)
	if err := es.Append(context.Background()); err == nil || store.calls != 1 {
		t.Fatalf("timed Append = %v after %d calls, want the store's error once", err, store.calls)
	}
	m.Deliveries().Attempted(delivery.Outcome("delivered"), 20*time.Millisecond)
	m.Deliveries().Attempted(delivery.Outcome("deferred"), time.Second)
	m.Relay().Leader(true)
	m.Relay().Published(10, 99, time.Millisecond)
	m.Relay().Failed(errors.New("broker down"))
	m.Webhooks().Attempted(true, 5*time.Millisecond)

	out := scrape(t, m, sources())
	for _, want := range []string{
		`(?m)^posthaste_event_append_seconds_count 1$`,
		`(?m)^posthaste_delivery_attempts_total\{result="delivered"\} 1$`,
		`(?m)^posthaste_delivery_attempts_total\{result="deferred"\} 1$`,
		`(?m)^posthaste_delivery_attempt_seconds_count 2$`,
		`(?m)^posthaste_relay_leader 1$`,
		`(?m)^posthaste_relay_published_total 10$`,
		`(?m)^posthaste_relay_failures_total 1$`,
		`(?m)^posthaste_relay_batch_seconds_count 1$`,
		`(?m)^posthaste_webhook_attempts_total\{result="succeeded"\} 1$`,
		`(?m)^posthaste_webhook_attempts_total\{result="failed"\} 0$`,
		`(?m)^posthaste_webhook_attempt_seconds_count 1$`,
		`(?m)^posthaste_event_head_position 42$`,
		`(?m)^posthaste_relay_lag_events 3$`,
		`(?m)^posthaste_projection_lag_events\{projection="event_counts"\} 7$`,
		`(?m)^posthaste_dead_letters\{projection="event_counts",where="database"\} 2$`,
		`(?m)^posthaste_dead_letters\{projection="event_counts",where="bus"\} 1$`,
		`(?m)^posthaste_backend_up\{backend="sqlite"\} 1$`,
		`(?m)^posthaste_backend_up\{backend="redis"\} 0$`,
		`(?m)^posthaste_queue_depth 5$`,
		`(?m)^posthaste_queue_oldest_age_seconds 3[56][0-9][0-9](\.[0-9]+)?$`,
		`(?m)^posthaste_webhook_deliveries_pending 4$`,
		`(?m)^posthaste_webhook_oldest_pending_age_seconds 0$`,
		`(?m)^posthaste_webhook_subscriptions_disabled_gone 1$`,
		`(?m)^# HELP posthaste_relay_lag_events Events committed but not yet confirmed by the bus \(outbox rows\)\.$`,
		`(?m)^go_goroutines `,
		`(?m)^process_cpu_seconds_total `,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestAFailedSourceLeavesOnlyItsMetricsOut(t *testing.T) {
	m, err := metrics.New(discard)
	if err != nil {
		t.Fatal(err)
	}
	src := sources()
	src.Status = func(context.Context) (platform.Status, error) { return platform.Status{}, errors.New("forbidden") }
	out := scrape(t, m, src)
	if strings.Contains(out, "posthaste_event_head_position") || !strings.Contains(out, "posthaste_queue_depth 5") {
		t.Errorf("a failed status source: head shown or queue depth missing:\n%s", out)
	}
}

func TestHandlerRefusesBadWiring(t *testing.T) {
	if _, err := metrics.New(nil); err == nil {
		t.Error("New(nil) accepted")
	}
	m, err := metrics.New(discard)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Handler(metrics.Sources{})
	for _, want := range []string{"status source is nil", "delivery queue source is nil", "webhooks source is nil"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Handler(no sources) = %v, want it to say %q", err, want)
		}
	}
	if _, err := m.Handler(sources()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Handler(sources()); err == nil {
		t.Error("a second Handler accepted")
	}
}
