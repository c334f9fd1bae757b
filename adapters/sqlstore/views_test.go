package sqlstore

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/posthaste/posthaste/projections/stats"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// The read models' answers, mapped field by field onto the application's types (views.go),
// encode to the same JSON bytes the CLI and the API print today: an edge may encode the
// application's types as they are.
func TestReadTypesEncodeLikeTheReadModels(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 123000, time.UTC)
	counts := stats.Counts{Queued: 1, Delivered: 2, Deferred: 3, Bounced: 4, BouncedHard: 5, BouncedSoft: 6, Held: 7, Expired: 8,
		BounceReasons: map[string]int64{"userunknown": 4}, BounceRate: 0.5, LatencyMS: map[string]int64{"p50": 10, "p99": 99}}
	for _, r := range []stats.Report{
		{Server: "acme/a", From: at, To: at.Add(time.Hour), Zone: "UTC", By: "hour", Total: counts,
			Buckets:    []stats.Bucket{{Start: at, Counts: counts}, {Start: at.Add(time.Hour)}},
			TopDomains: []stats.DomainOutcome{{Domain: "remote.test", Queued: 1, Delivered: 1, Deferred: 2, Bounced: 3, Expired: 4}}},
		{Server: "acme/a", From: at, To: at, Zone: "Europe/Berlin", By: "day"},
	} {
		same(t, "stats report", r, toReport(r))
	}
	for _, d := range []webhookqueue.Delivery{
		{ID: "msg_1", WebhookID: "w", EventID: "e", EventType: "message.delivered", StreamKey: "message/m", Status: "pending", Attempts: 2,
			OccurredAt: at, NextAttemptAt: at.Add(time.Minute), LastAttemptAt: at, LastStatusCode: 500, LastError: "boom",
			History: []webhookqueue.Attempt{{Attempt: 1, At: at, Result: "failed", StatusCode: 500, Response: "no", DurationMS: 1.5, Error: "x"}}},
		{ID: "msg_2", WebhookID: "w", EventID: "e2", EventType: "message.held", Status: "succeeded", OccurredAt: at, History: []webhookqueue.Attempt{}},
		{ID: "msg_3", WebhookID: "w", EventID: "e3", Status: "pending", OccurredAt: at},
	} {
		same(t, "webhook delivery", d, toDelivery(d))
	}
}

func same(t *testing.T, what string, model, app any) {
	t.Helper()
	a, err := json.Marshal(model)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s encodes differently:\nread model  %s\napplication %s", what, a, b)
	}
}
