package webhooks_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/mariadb/mariadbtest"
	"github.com/posthaste/posthaste/adapters/sqlite/sqlitetest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/webhooks"
)

type store interface {
	domain.EventStore
	domain.Outbox
	DB() *sql.DB
}

func backends() map[string]func(t *testing.T) (store, string) {
	return map[string]func(t *testing.T) (store, string){
		"sqlite":  func(t *testing.T) (store, string) { return sqlitetest.Store(t), projections.DialectSQLite },
		"mariadb": func(t *testing.T) (store, string) { return mariadbtest.Store(t), projections.DialectMySQL },
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
				if err := webhooks.New().Apply(ctx, tx, dialect, events.Record{Envelope: e}); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			want := map[string]int{"wh-all": 5, "wh-bounced": 1, "wh-postal": 4, "wh-other": 0, "wh-late": 0}
			// wh-all: held, released, bounced, dns failure, delivered(m2); wh-postal: no released.
			s, _ := webhooks.NewStore(db.SQL, dialect)
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
			if ds[0].ID != webhooks.DeliveryID("wh-all", envs[6].ID) || ds[0].EventType != "message.held" {
				t.Errorf("first delivery %+v", ds[0])
			}
			// Mark one succeeded (sender state), then replay.
			if _, err := db.SQL.Exec(`UPDATE webhook_deliveries SET status = 'succeeded', attempts = 1 WHERE delivery_id = ?`, ds[0].ID); err != nil {
				t.Fatal(err)
			}
			before, err := projections.Checksum(ctx, db, webhooks.New())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := projections.Replay(ctx, db, st, webhooks.New()); err != nil {
				t.Fatal(err)
			}
			after, err := projections.Checksum(ctx, db, webhooks.New())
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
			if ds2[0].Status != webhooks.StatusSucceeded || ds2[0].Attempts != 1 {
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
