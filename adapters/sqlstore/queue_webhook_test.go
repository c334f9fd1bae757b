package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

// webhookEnv is an envelope of any stream at a given time, for the webhook projection.
func webhookEnv(t *testing.T, ev events.Event, streamType, id string, v int64, server string, at time.Time) events.Envelope {
	t.Helper()
	e, err := events.New(ev, events.Meta{ID: events.NewID(at, nil), StreamType: streamType, StreamID: id, StreamVersion: v,
		ServerID: server, OccurredAt: at, Actor: events.Actor{Type: events.ActorSystem, ID: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Claim reads candidates a page (the batch size) at a time: refusals (an endpoint at its cap)
// make it read further pages, up to 4× the batch, so deliveries of another endpoint behind a
// refused run are still claimed; those beyond 4× the batch wait for the next claim.
func TestClaimPagesPastRefusedCandidates(t *testing.T) {
	pt.EachBackend(t, func(t *testing.T, b *pt.Backend) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		envs := []events.Envelope{
			webhookEnv(t, events.WebhookCreated{URL: "https://a.test/", Format: "standard", SecretID: "s1", Enabled: true}, "webhook", "wh-a", 1, "acme/a", t0),
			webhookEnv(t, events.WebhookCreated{URL: "https://b.test/", Format: "standard", SecretID: "s2", Enabled: true}, "webhook", "wh-b", 1, "acme/b", t0),
		}
		// 31 deliveries of wh-a due first, then 10 of wh-b.
		for i := 0; i < 41; i++ {
			server := "acme/a"
			if i >= 31 {
				server = "acme/b"
			}
			envs = append(envs, webhookEnv(t, events.MessageDelivered{MXHost: "mx"}, "message", fmt.Sprintf("m%02d", i), 1, server, t0.Add(time.Duration(i+1)*time.Second)))
		}
		b.Apply(t, webhookqueue.New(), pt.Records(envs...)...)
		s, err := sqlstore.NewWebhookQueue(b.DB, b.Dialect)
		if err != nil {
			t.Fatal(err)
		}
		onlyB := func(id string) bool { return id == "wh-b" }
		now := t0.Add(time.Hour)
		got, err := s.Claim(ctx, "node", now, time.Minute, 10, onlyB)
		if err != nil {
			t.Fatal(err)
		}
		// 40 candidates considered: 31 refused, the first 9 of wh-b taken.
		if len(got) != 9 {
			t.Fatalf("claimed %d, want the 9 of wh-b within 4x10 candidates", len(got))
		}
		for _, c := range got {
			if c.WebhookID != "wh-b" {
				t.Fatalf("claimed a delivery of %s", c.WebhookID)
			}
		}
		got, err = s.Claim(ctx, "node", now, time.Minute, 10, onlyB)
		if err != nil || len(got) != 1 || got[0].WebhookID != "wh-b" {
			t.Fatalf("second claim: %d deliveries, %v; want wh-b's last one", len(got), err)
		}
		got, err = s.Claim(ctx, "node", now, time.Minute, 10, nil)
		if err != nil || len(got) != 10 || got[0].WebhookID != "wh-a" {
			t.Fatalf("claim without refusals: %d deliveries, %v; want 10 of wh-a", len(got), err)
		}
	})
}

func TestNewWebhookQueueRefusesBadWiring(t *testing.T) {
	_, err := sqlstore.NewWebhookQueue(nil, nil)
	for _, want := range []string{"nil database", "nil dialect"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}
