package tenancyview_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections"
	"github.com/posthaste/posthaste/projections/tenancyview"
)

// BenchmarkCredentialByUsername compares SMTP AUTH's lookup by reading every credential stream
// (domain/tenancy, what admin commands use) with the read model, on SQLite with 500 credentials.
func BenchmarkCredentialByUsername(b *testing.B) {
	ctx := context.Background()
	s := sqlstoretest.SQLite(b)
	h, err := tenancy.NewHandlers(tenancy.Deps{Store: s, Clock: time.Now, Rand: rand.Reader})
	if err != nil {
		b.Fatal(err)
	}
	actor := events.Actor{Type: events.ActorCLI, ID: "bench"}
	ref := tenancy.ServerRef{Org: "acme", Name: "billing"}
	if _, err := h.CreateOrg(ctx, tenancy.CreateOrg{Name: "acme", Actor: actor}); err != nil {
		b.Fatal(err)
	}
	if _, err := h.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Actor: actor}); err != nil {
		b.Fatal(err)
	}
	var last tenancy.NewCredential
	for i := 0; i < 500; i++ {
		if last, err = h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "smtp", Actor: actor}); err != nil {
			b.Fatal(err)
		}
	}
	recs, err := s.Query(ctx, domain.EventFilter{Limit: 10000})
	if err != nil {
		b.Fatal(err)
	}
	tx, _ := s.DB().BeginTx(ctx, nil)
	for _, r := range recs {
		if err := tenancyview.New().Apply(ctx, tx, projections.DialectSQLite, r); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Run("streams", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := h.CredentialByUsername(ctx, last.Username); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read_model", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, ok, err := tenancyview.CredentialByUsername(ctx, s.DB(), last.Username); err != nil || !ok {
				b.Fatal(err)
			}
		}
	})
}
