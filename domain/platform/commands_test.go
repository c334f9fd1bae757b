package platform_test

import (
	"errors"
	"testing"
	"time"

	"github.com/posthaste/posthaste/domain/message"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/domain/webhook"
)

// TestReadsAndBulkCommands walks the read-model queries and the commands on them: listing,
// bulk release, states as of a time, webhook test pings, deliveries and redelivery.
func TestReadsAndBulkCommands(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b)
		ctx := ctxT(t)
		q, c := e.app.Queries, e.app.Commands
		ref := tenancy.ServerRef{Org: "acme", Name: "dev"}
		_, err := c.CreateOrg(ctx, cli, "acme")
		must(t, err)
		_, err = c.CreateServer(ctx, cli, tenancy.CreateServer{Ref: ref, Mode: tenancy.ModeDevelopment})
		must(t, err)
		_, err = c.AddDomain(ctx, cli, tenancy.AddDomain{Domain: "dev.example", Server: ref, SkipVerification: true})
		must(t, err)
		var ids []string
		for _, to := range []string{"one@remote.test", "two@remote.test", "three@remote.test"} {
			r, err := c.SendTest(ctx, cli, platform.SendTest{Server: ref.String(), From: "ops@dev.example", To: to})
			must(t, err)
			ids = append(ids, r.MessageID)
		}
		before := time.Now()
		if _, err := c.CancelHold(ctx, cli, ids[2]); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CancelHold(ctx, cli, ids[2]); !errors.Is(err, message.ErrNotHeld) {
			t.Errorf("cancelling twice: %v", err)
		}
		e.project(t)

		page, err := q.Messages(ctx, cli, ref.String(), platform.MessageQuery{Query: "status:held", Oldest: true})
		must(t, err)
		if len(page.Messages) != 2 || page.Messages[0].ID != ids[0] || page.Messages[0].Status != message.StatusHeld {
			t.Fatalf("held messages = %+v", page.Messages)
		}
		if _, err := q.Messages(ctx, cli, ref.String(), platform.MessageQuery{Query: "status:nonsense"}); !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("a bad query: %v", err)
		}
		st, err := q.StatesAsOf(ctx, cli, ref.String(), before)
		must(t, err)
		if st.Messages != 3 || st.ByStatus[message.StatusHeld] != 3 {
			t.Errorf("states before the cancel: %+v", st)
		}
		st, err = q.StatesAsOf(ctx, cli, ref.String(), time.Now())
		must(t, err)
		if st.ByStatus[message.StatusHeld] != 2 || st.ByStatus[message.StatusCancelled] != 1 {
			t.Errorf("states now: %+v", st)
		}
		if _, err := q.Stats(ctx, cli, ref.String(), platform.StatsRequest{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)}); err != nil {
			t.Errorf("stats: %v", err)
		}

		res, err := c.BulkHold(ctx, cli, platform.BulkHold{Server: ref.String(), Action: platform.BulkRelease})
		must(t, err)
		if res.Applied != 2 || res.Skipped != 0 || res.Failed != 0 {
			t.Errorf("bulk release = %+v", res)
		}
		if _, err := c.BulkHold(ctx, cli, platform.BulkHold{Server: ref.String(), Action: "explode"}); !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("unknown bulk action: %v", err)
		}
		// The view has not seen the releases: a second run skips what is no longer held.
		res, err = c.BulkHold(ctx, cli, platform.BulkHold{Server: ref.String(), Action: platform.BulkRelease})
		must(t, err)
		if res.Applied != 0 || res.Skipped != 2 {
			t.Errorf("bulk release on a lagging view = %+v", res)
		}

		hook, secret, err := c.CreateWebhook(ctx, cli, platform.CreateWebhook{Server: ref.String(), URL: "https://hooks.example/x"})
		must(t, err)
		if secret == "" {
			t.Error("no secret")
		}
		ping, err := c.TestWebhook(ctx, cli, hook.ID)
		must(t, err)
		ds, err := q.WebhookDeliveries(ctx, cli, hook.ID, 10)
		must(t, err)
		if len(ping.DeliveryIDs) != 1 || len(ds) != 1 || ds[0].ID != ping.DeliveryIDs[0] || ds[0].EventID != ping.EventIDs[0] {
			t.Fatalf("ping %+v, deliveries %+v", ping, ds)
		}
		if d, err := c.RedeliverWebhook(ctx, cli, hook.ID, ds[0].ID); err != nil || d.ID != ds[0].ID {
			t.Errorf("redeliver: %+v, %v", d, err)
		}
		if d, err := c.RedeliverWebhook(ctx, cli, "", ds[0].ID); err != nil || d.ID != ds[0].ID {
			t.Errorf("redeliver by delivery id: %+v, %v", d, err)
		}
		if _, err := c.RedeliverWebhook(ctx, cli, hook.ID, "msg_nope"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("redeliver an unknown delivery: %v", err)
		}
		// Replay sends what the subscription receives: three holds, one cancel, two releases
		// (message.queued is not offered).
		rep, err := c.ReplayWebhook(ctx, cli, hook.ID, time.Now().Add(-time.Hour), time.Time{})
		must(t, err)
		if len(rep.DeliveryIDs) != 6 || len(rep.EventIDs) != 6 {
			t.Errorf("replay enqueued %d deliveries (%v); want 6", len(rep.DeliveryIDs), rep.EventIDs)
		}
		off := false
		if s, changed, err := c.UpdateWebhook(ctx, cli, hook.ID, webhook.Update{Enabled: &off}); err != nil || !changed || s.Enabled {
			t.Errorf("disable by update: %+v, %v, %v", s, changed, err)
		}
		if _, changed, err := c.UpdateWebhook(ctx, cli, hook.ID, webhook.Update{Enabled: &off}); err != nil || changed {
			t.Errorf("the same update again changed %v, %v", changed, err)
		}
		if _, err := c.ReplayWebhook(ctx, cli, hook.ID, time.Now().Add(-time.Hour), time.Time{}); !errors.Is(err, platform.ErrInvalid) {
			t.Errorf("replay to a disabled webhook: %v", err)
		}
	})
}
