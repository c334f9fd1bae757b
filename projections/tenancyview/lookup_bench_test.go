package tenancyview_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	pt "github.com/posthaste/posthaste/adapters/sqlstore/projectiontest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
	"github.com/posthaste/posthaste/projections/tenancyview"
)

// BenchmarkCredentialByUsername measures the read model's lookup of SMTP AUTH, on SQLite with 500
// credentials (the scan of every credential stream it replaced is gone; domain/platform's
// lookup_cost_test counts the statements of the whole keyed lookup).
func BenchmarkCredentialByUsername(b *testing.B) {
	ctx := context.Background()
	be := pt.Open(b, "sqlite")
	s := be.Store
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
	be.Apply(b, tenancyview.New(), recs...)
	b.Run("read_model", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, ok, err := tenancyview.CredentialByUsername(ctx, s.DB(), last.Username); err != nil || !ok {
				b.Fatal(err)
			}
		}
	})
}
