package eventcount_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/eventcount"
)

func TestApplyCountsPerTypeAndServer(t *testing.T) {
	for _, db := range map[string]func(*testing.T) projections.DB{
		"sqlite": func(t *testing.T) projections.DB {
			return projections.DB{SQL: sqlstoretest.SQLiteDB(t), Dialect: projections.DialectSQLite}
		},
		"mariadb": func(t *testing.T) projections.DB {
			return projections.DB{SQL: sqlstoretest.MariaDBDB(t), Dialect: projections.DialectMySQL}
		},
	} {
		d := db(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		mk := func(p events.Event, server string, v int64) events.Record {
			env, err := events.New(p, events.Meta{ID: events.NewID(at, nil), StreamType: events.StreamMessage, StreamID: "m1",
				StreamVersion: v, ServerID: server, OccurredAt: at, Actor: events.Actor{Type: events.ActorSystem, ID: "t"}})
			if err != nil {
				t.Fatal(err)
			}
			return events.Record{Position: v, Envelope: env}
		}
		recs := []events.Record{
			mk(&events.MessageOpened{}, "srv-1", 1), mk(&events.MessageOpened{}, "srv-1", 2),
			mk(&events.MessageOpened{}, "", 3), mk(&events.MessageClicked{URL: "u"}, "srv-1", 4),
		}
		unknown := mk(&events.MessageOpened{}, "srv-1", 5)
		unknown.Envelope.Type = "message.from_the_future" // counted: a newer producer's event
		recs = append(recs, unknown)
		tx, err := d.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := eventcount.New()
		for _, r := range recs {
			if err := p.Apply(ctx, tx, d.Dialect, r); err != nil {
				t.Fatalf("%s: apply: %v", d.Dialect, err)
			}
		}
		bad := mk(&events.MessageOpened{}, "srv-1", 6)
		bad.Envelope.OccurredAt = time.Time{}
		if err := p.Apply(ctx, tx, d.Dialect, bad); !errors.Is(err, projections.ErrPoison) {
			t.Errorf("%s: invalid envelope: %v, want a poison error", d.Dialect, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		want := map[[2]string]int64{
			{"message.opened", "srv-1"}: 2, {"message.opened", ""}: 1, {"message.clicked", "srv-1"}: 1,
			{"message.from_the_future", "srv-1"}: 1,
		}
		rows, err := d.SQL.QueryContext(ctx, `SELECT event_type, server_id, count FROM event_counts`)
		if err != nil {
			t.Fatal(err)
		}
		got := map[[2]string]int64{}
		for rows.Next() {
			var typ, srv string
			var n int64
			if err := rows.Scan(&typ, &srv, &n); err != nil {
				t.Fatal(err)
			}
			got[[2]string{typ, srv}] = n
		}
		rows.Close()
		if len(got) != len(want) {
			t.Errorf("%s: rows %v, want %v", d.Dialect, got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s: count %v = %d, want %d", d.Dialect, k, got[k], n)
			}
		}
	}
}
