package sendpolicy_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/sendpolicy"
	"github.com/posthaste/posthaste/domain/suppression"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// TestHoldReasonCaches: a server's mode is read from the cache for ServerCacheTTL (a change
// shows after it), a suppression counts at once.
func TestHoldReasonCaches(t *testing.T) {
	ctx := context.Background()
	st := sqlstoretest.SQLite(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key := make([]byte, 32)
	rand.Read(key)
	secrets, err := st.Secrets(key, rand.Reader, clock)
	if err != nil {
		t.Fatal(err)
	}
	th, err := tenancy.NewHandlers(tenancy.Deps{Store: st, Clock: clock, Rand: rand.Reader, Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	rec := domain.Recorder{Clock: clock}
	sup, err := suppression.NewHandler(st, rec)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sendpolicy.New(th, sup, nil, st, rec)
	if err != nil {
		t.Fatal(err)
	}
	actor := events.Actor{Type: events.ActorCLI, ID: "test"}
	if _, err := th.CreateOrg(ctx, tenancy.CreateOrg{Name: "acme", Actor: actor}); err != nil {
		t.Fatal(err)
	}
	ref := tenancy.ServerRef{Org: "acme", Name: "live"}
	if _, err := th.CreateServer(ctx, tenancy.CreateServer{Ref: ref, Actor: actor}); err != nil {
		t.Fatal(err)
	}
	hold := func(rcpt string) string {
		t.Helper()
		r, _, err := a.HoldReason(ctx, "acme/live", rcpt)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := hold("a@remote.test"); r != "" {
		t.Fatalf("live server holds: %q", r)
	}
	// Suppressions are not cached.
	if err := sup.Add(ctx, "acme/live", "a@remote.test", suppression.ReasonManual, "", 0, domain.Cause{Actor: actor}); err != nil {
		t.Fatal(err)
	}
	if r := hold("a@remote.test"); r != events.HoldSuppressed {
		t.Fatalf("suppressed a moment ago: %q, want %q", r, events.HoldSuppressed)
	}
	// The mode is cached for ServerCacheTTL.
	dev := "development"
	if _, _, err := th.UpdateServer(ctx, tenancy.UpdateServer{Ref: ref, Mode: &dev, Actor: actor}); err != nil {
		t.Fatal(err)
	}
	if r := hold("b@remote.test"); r != "" {
		t.Fatalf("within the cache TTL: %q, want the cached live mode", r)
	}
	now = now.Add(sendpolicy.ServerCacheTTL)
	if r := hold("b@remote.test"); r != events.HoldDevelopmentMode {
		t.Fatalf("after the cache TTL: %q, want %q", r, events.HoldDevelopmentMode)
	}
	// Without the cache a change shows at once.
	a.SetServerCacheTTL(0)
	live := "live"
	if _, _, err := th.UpdateServer(ctx, tenancy.UpdateServer{Ref: ref, Mode: &live, Actor: actor}); err != nil {
		t.Fatal(err)
	}
	if r := hold("b@remote.test"); r != "" {
		t.Fatalf("uncached: %q, want live", r)
	}
}
