package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain/eventstoretest"
	"github.com/posthaste/posthaste/events"
)

func envAt(streamID string, version int64) events.Envelope {
	at := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	return events.Envelope{
		ID: events.NewID(at, nil), Type: "message.queued", SchemaVersion: 1,
		StreamType: events.StreamMessage, StreamID: streamID, StreamVersion: version,
		OccurredAt: at, Actor: events.Actor{Type: events.ActorSystem, ID: "test"},
		Payload: json.RawMessage(`{}`),
	}
}

func count(t *testing.T, s *sqlstore.Store, stream string) int {
	t.Helper()
	recs, err := s.ReadStream(context.Background(), events.StreamMessage, stream, 1)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func TestEventStoreAcceptance(t *testing.T) {
	for _, b := range sqlstoretest.Backends {
		t.Run(b.Name, func(t *testing.T) {
			eventstoretest.Run(t, func(t *testing.T) eventstoretest.Store { return b.Open(t) })
		})
	}
}

func TestPing(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAppendAfterCloseFails(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) (*sqlstore.Store, error){
		"sqlite": func(t *testing.T) (*sqlstore.Store, error) {
			return sqlstore.OpenSQLite(context.Background(), sqlstoretest.SQLitePath(t))
		},
		"mariadb": func(t *testing.T) (*sqlstore.Store, error) {
			return sqlstore.OpenMariaDB(context.Background(), sqlstoretest.MariaDBDSN(t))
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := open(t)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Append(context.Background(), envAt("late", 1)); !errors.Is(err, sqlstore.ErrClosed) {
				t.Fatalf("Append after Close: %v, want ErrClosed", err)
			}
		})
	}
}
