package suppression_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/events"
)

func backends(t *testing.T) map[string]func(*testing.T) domain.EventStore {
	return map[string]func(*testing.T) domain.EventStore{
		"sqlite":  func(t *testing.T) domain.EventStore { return sqlstoretest.SQLite(t) },
		"mariadb": func(t *testing.T) domain.EventStore { return sqlstoretest.MariaDB(t) },
	}
}

func TestSuppressionLifecycle(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
			h, err := suppression.NewHandler(open(t), domain.Recorder{Clock: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			cli := domain.Cause{Actor: events.Actor{Type: events.ActorCLI, ID: "root"}}
			if err := h.Add(ctx, "acme/main", "Bob@Example.com", suppression.ReasonManual, "", 0, cli); err != nil {
				t.Fatal(err)
			}
			if err := h.Add(ctx, "acme/main", "tmp@example.com", suppression.ReasonHardBounce, "evt-1", time.Hour, cli); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				server, addr string
				want         bool
			}{
				{"acme/main", "bob@example.com", true},
				{"acme/main", "BOB@example.com", true},
				{"acme/other", "bob@example.com", false}, // scoped to one server
				{"acme/main", "tmp@example.com", true},
				{"acme/main", "alice@example.com", false},
			} {
				got, err := h.IsSuppressed(ctx, c.server, c.addr)
				if err != nil || got != c.want {
					t.Errorf("IsSuppressed(%s, %s) = %v, %v; want %v", c.server, c.addr, got, err, c.want)
				}
			}
			list, err := h.List(ctx, "acme/main", false)
			if err != nil || len(list) != 2 || list[0].Address != "bob@example.com" || list[1].CausedBy != "evt-1" {
				t.Fatalf("list = %+v, %v", list, err)
			}
			if err := h.Remove(ctx, "acme/main", "bob@example.com", "manual", cli); err != nil {
				t.Fatal(err)
			}
			if err := h.Remove(ctx, "acme/main", "bob@example.com", "manual", cli); !errors.Is(err, suppression.ErrNotSuppressed) {
				t.Fatalf("second remove: %v", err)
			}
			if got, _ := h.IsSuppressed(ctx, "acme/main", "bob@example.com"); got {
				t.Error("removed address still suppressed")
			}
			now = now.Add(2 * time.Hour) // the bounce entry expires
			if got, _ := h.IsSuppressed(ctx, "acme/main", "tmp@example.com"); got {
				t.Error("expired entry still suppresses")
			}
			if err := h.Add(ctx, "acme/main", "not-an-address", suppression.ReasonManual, "", 0, cli); !errors.Is(err, suppression.ErrBadAddress) {
				t.Fatalf("bad address: %v", err)
			}
		})
	}
}
