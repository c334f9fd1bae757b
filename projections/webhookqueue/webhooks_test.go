package webhookqueue_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/webhookqueue"
)

type store interface {
	domain.EventStore
	domain.Outbox
	DB() *sql.DB
}

func backends() map[string]func(t *testing.T) (store, string) {
	return map[string]func(t *testing.T) (store, string){
		"sqlite":  func(t *testing.T) (store, string) { return sqlstoretest.SQLite(t), projections.DialectSQLite },
		"mariadb": func(t *testing.T) (store, string) { return sqlstoretest.MariaDB(t), projections.DialectMySQL },
	}
}

var actor = events.Actor{Type: events.ActorSystem, ID: "test"}

func env(t *testing.T, ev events.Event, streamType, id string, v int64, server string, at time.Time) events.Envelope {
	t.Helper()
	e, err := events.New(ev, events.Meta{ID: events.NewID(at, nil), StreamType: streamType, StreamID: id, StreamVersion: v,
		ServerID: server, OccurredAt: at, Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Matching: the event's server, enabled subscriptions created before it, the events asked for,
// Postal-format ones only for what Postal has, DNS checks only when they failed. Replay rebuilds
// the same read model and neither duplicates nor resets deliveries.
func TestDeliveriesMatchAndSurviveReplay(t *testing.T) {
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			st, dialect := mk(t)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
			envs := []events.Envelope{
				env(t, events.WebhookCreated{URL: "https://a.test/", Format: "standard", SecretID: "s1", Enabled: true}, "webhook", "wh-all", 1, "acme/main", at(0)),
				env(t, events.WebhookCreated{URL: "https://b.test/", Events: []string{"message.bounced"}, Format: "standard", SecretID: "s2", Enabled: true}, "webhook", "wh-bounced", 1, "acme/main", at(0)),
				env(t, events.WebhookCreated{URL: "https://c.test/", Format: "postal", SecretID: "s3", Enabled: true}, "webhook", "wh-postal", 1, "acme/main", at(0)),
				env(t, events.WebhookCreated{URL: "https://d.test/", Format: "standard", SecretID: "s4", Enabled: true}, "webhook", "wh-other", 1, "other/srv", at(0)),
				env(t, events.MessageQueued{SubmissionID: "sub1", RcptTo: "x@r.test"}, "message", "m1", 1, "acme/main", at(1)),
				env(t, events.MessageSigned{}, "message", "m1", 2, "acme/main", at(2)),
				env(t, events.MessageHeld{Reason: "suppressed"}, "message", "m1", 3, "acme/main", at(3)),
				env(t, events.MessageReleased{By: "cli:x"}, "message", "m1", 4, "acme/main", at(4)),
				env(t, events.MessageBounced{Reason: "userunknown", Class: "hard", Source: "smtp"}, "message", "m1", 5, "acme/main", at(5)),
				env(t, events.DomainDNSChecked{AllOK: true}, "domain", "example.org", 1, "acme/main", at(6)),
				env(t, events.DomainDNSChecked{AllOK: false}, "domain", "example.org", 2, "acme/main", at(7)),
				env(t, events.WebhookDisabled{Reason: "operator"}, "webhook", "wh-bounced", 2, "acme/main", at(8)),
				env(t, events.MessageDelivered{MXHost: "mx"}, "message", "m2", 1, "acme/main", at(9)),
				env(t, events.WebhookCreated{URL: "https://e.test/", Format: "standard", SecretID: "s5", Enabled: true}, "webhook", "wh-late", 1, "acme/main", at(10)),
			}
			if err := st.Append(ctx, envs...); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Pending(ctx, 1000); err != nil { // stamp positions (MariaDB)
				t.Fatal(err)
			}
			db := projections.DB{SQL: st.DB(), Dialect: dialect}
			tx, err := db.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range envs {
				if err := webhookqueue.New().Apply(ctx, tx, dialect, events.Record{Envelope: e}); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"wh-all": 5, "wh-bounced": 1, "wh-postal": 4, "wh-other": 0, "wh-late": 0}
			// wh-all: held, released, bounced, dns failure, delivered(m2); wh-postal: no released.
			s, _ := webhookqueue.NewStore(db.SQL, dialect)
			count := func() map[string]int {
				got := map[string]int{}
				for id := range want {
					ds, err := s.Deliveries(ctx, id, 100)
					if err != nil {
						t.Fatal(err)
					}
					got[id] = len(ds)
				}
				return got
			}
			if got := count(); fmtMap(got) != fmtMap(want) {
				t.Fatalf("deliveries per subscription %v, want %v", got, want)
			}
			ds, _ := s.Deliveries(ctx, "wh-all", 100)
			if ds[0].ID != webhookqueue.DeliveryID("wh-all", envs[6].ID) || ds[0].EventType != "message.held" {
				t.Errorf("first delivery %+v", ds[0])
			}
			// Mark one succeeded (sender state), then replay.
			if _, err := db.SQL.Exec(`UPDATE webhook_deliveries SET status = 'succeeded', attempts = 1 WHERE delivery_id = ?`, ds[0].ID); err != nil {
				t.Fatal(err)
			}
			before, err := projections.Checksum(ctx, db, webhookqueue.New())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := projections.Replay(ctx, db, st, webhookqueue.New()); err != nil {
				t.Fatal(err)
			}
			after, err := projections.Checksum(ctx, db, webhookqueue.New())
			if err != nil {
				t.Fatal(err)
			}
			if before.SHA256 != after.SHA256 {
				t.Errorf("replay changed the read model: %+v vs %+v", before, after)
			}
			if got := count(); fmtMap(got) != fmtMap(want) {
				t.Errorf("after replay: deliveries %v, want %v", got, want)
			}
			ds2, _ := s.Deliveries(ctx, "wh-all", 100)
			if ds2[0].Status != webhookqueue.StatusSucceeded || ds2[0].Attempts != 1 {
				t.Errorf("replay reset a delivered webhook: %+v", ds2[0])
			}
		})
	}
}

func fmtMap(m map[string]int) string {
	out := ""
	for _, k := range []string{"wh-all", "wh-bounced", "wh-postal", "wh-other", "wh-late"} {
		out += k + "=" + string(rune('0'+m[k])) + " "
	}
	return out
}

// webhook.updated: the read model follows URL, events, format and enabled changes (the events
// list back to "all" included), and enqueueing follows the new state: nothing while disabled,
// only the events now asked for afterwards.
func TestUpdatedSubscriptionsInReadModel(t *testing.T) {
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			st, dialect := mk(t)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
			url, postal, off, on := "https://new.test/hook", "postal", false, true
			bounced, all := []string{"message.bounced"}, []string{}
			envs := []events.Envelope{
				env(t, events.WebhookCreated{URL: "https://a.test/", Format: "standard", SecretID: "s1", Enabled: true}, "webhook", "wh", 1, "acme/main", at(0)),
				env(t, events.WebhookUpdated{URL: &url, Events: &bounced, Format: &postal}, "webhook", "wh", 2, "acme/main", at(1)),
				env(t, events.MessageDelivered{MXHost: "mx"}, "message", "m1", 1, "acme/main", at(2)), // not asked for
				env(t, events.MessageBounced{Reason: "x", Class: "hard", Source: "smtp"}, "message", "m2", 1, "acme/main", at(3)),
				env(t, events.WebhookUpdated{Enabled: &off}, "webhook", "wh", 3, "acme/main", at(4)),
				env(t, events.MessageBounced{Reason: "x", Class: "hard", Source: "smtp"}, "message", "m3", 1, "acme/main", at(5)), // disabled
				env(t, events.WebhookUpdated{Enabled: &on, Events: &all}, "webhook", "wh", 4, "acme/main", at(6)),
				env(t, events.MessageDelivered{MXHost: "mx"}, "message", "m4", 1, "acme/main", at(7)),
			}
			if err := st.Append(ctx, envs...); err != nil {
				t.Fatal(err)
			}
			db := projections.DB{SQL: st.DB(), Dialect: dialect}
			type row struct {
				url, events, format, reason string
				enabled                     int
			}
			var seen []row
			for _, e := range envs {
				tx, err := db.SQL.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := webhookqueue.New().Apply(ctx, tx, dialect, events.Record{Envelope: e}); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if e.Type == "webhook.updated" {
					var r row
					if err := db.SQL.QueryRow(`SELECT url, events, format, disabled_reason, enabled FROM webhook_subscriptions WHERE webhook_id = 'wh'`).
						Scan(&r.url, &r.events, &r.format, &r.reason, &r.enabled); err != nil {
						t.Fatal(err)
					}
					seen = append(seen, r)
				}
			}
			want := []row{
				{url, "message.bounced", "postal", "", 1},
				{url, "message.bounced", "postal", "operator", 0},
				{url, "", "postal", "", 1},
			}
			if len(seen) != len(want) {
				t.Fatalf("read model after each update: %+v", seen)
			}
			for i := range want {
				if seen[i] != want[i] {
					t.Errorf("after update %d: %+v, want %+v", i+1, seen[i], want[i])
				}
			}
			s, _ := webhookqueue.NewStore(db.SQL, dialect)
			ds, err := s.Deliveries(ctx, "wh", 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, d.StreamKey)
			}
			if len(got) != 2 || got[0] != "message/m2" || got[1] != "message/m4" {
				t.Errorf("deliveries enqueued %v, want message/m2 (bounced, asked for) and message/m4 (all, enabled again)", got)
			}
			// Stats (/metrics): both pending, the older from m2's event; nothing disabled by a 410 yet.
			stats, err := s.Stats(ctx)
			if err != nil || stats.Pending != 2 || !stats.OldestEvent.Equal(at(3)) || stats.DisabledGone != 0 {
				t.Errorf("stats %+v, %v; want 2 pending, oldest at %v, none gone", stats, err, at(3))
			}
			gone := env(t, events.WebhookDisabled{Reason: webhookqueue.GoneReasonPrefix + " from " + url}, "webhook", "wh", 5, "acme/main", at(8))
			tx, err := db.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := webhookqueue.New().Apply(ctx, tx, dialect, events.Record{Envelope: gone}); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if stats, err := s.Stats(ctx); err != nil || stats.DisabledGone != 1 {
				t.Errorf("stats after a 410: %+v, %v", stats, err)
			}
		})
	}
}

// Claim reads candidates a page (the batch size) at a time: refusals (an endpoint at its cap)
// make it read further pages, up to 4× the batch, so deliveries of another endpoint behind a
// refused run are still claimed; those beyond 4× the batch wait for the next claim.
func TestClaimPagesPastRefusedCandidates(t *testing.T) {
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			st, dialect := mk(t)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
			envs := []events.Envelope{
				env(t, events.WebhookCreated{URL: "https://a.test/", Format: "standard", SecretID: "s1", Enabled: true}, "webhook", "wh-a", 1, "acme/a", t0),
				env(t, events.WebhookCreated{URL: "https://b.test/", Format: "standard", SecretID: "s2", Enabled: true}, "webhook", "wh-b", 1, "acme/b", t0),
			}
			// 31 deliveries of wh-a due first, then 10 of wh-b.
			for i := 0; i < 41; i++ {
				server := "acme/a"
				if i >= 31 {
					server = "acme/b"
				}
				envs = append(envs, env(t, events.MessageDelivered{MXHost: "mx"}, "message", fmt.Sprintf("m%02d", i), 1, server, t0.Add(time.Duration(i+1)*time.Second)))
			}
			db := projections.DB{SQL: st.DB(), Dialect: dialect}
			tx, err := db.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range envs {
				if err := webhookqueue.New().Apply(ctx, tx, dialect, events.Record{Envelope: e}); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			s, _ := webhookqueue.NewStore(db.SQL, dialect)
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
}
