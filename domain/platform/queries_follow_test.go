package platform_test

import (
	"context"
	"errors"
	"testing"

	"github.com/posthaste/posthaste/adapters/sqlstore"
	"github.com/posthaste/posthaste/adapters/sqlstore/sqlstoretest"
	"github.com/posthaste/posthaste/domain"
	"github.com/posthaste/posthaste/domain/platform"
	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

// TestFollowEvents follows the log as `events --follow` does: a filter applied as Query applies
// it, a recipient's messages (those queued to it later included), a server key seeing only its
// server, and the head to start from.
func TestFollowEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, func(d *platform.Deps) { d.ReadSide = headOnly{d.Events} })
		ctx := ctxT(t)
		q, c := e.app.Queries, e.app.Commands
		bref := e.tenant(t, "acme", "b", "b.example")  // live
		a := tenancy.ServerRef{Org: "acme", Name: "a"} // development: every message is held
		_, err := c.CreateServer(ctx, cli, tenancy.CreateServer{Ref: a, Mode: tenancy.ModeDevelopment})
		must(t, err)
		_, err = c.AddDomain(ctx, cli, tenancy.AddDomain{Domain: "a.example", Server: a, SkipVerification: true})
		must(t, err)
		send := func(ref tenancy.ServerRef, from, to string) string {
			t.Helper()
			r, err := c.SendTest(ctx, cli, platform.SendTest{Server: ref.String(), From: from, To: to})
			must(t, err)
			return r.MessageID
		}
		first := send(a, "ops@a.example", "Ann@Remote.test")
		e.project(t) // positions stamped
		head, err := q.Head(ctx, cli)
		must(t, err)
		if head == 0 {
			t.Fatal("head 0 after appends")
		}

		// Nothing after the head yet; then only what the filter keeps.
		all := q.FollowEvents(cli, domain.EventFilter{}, head)
		queued := q.FollowEvents(cli, domain.EventFilter{ServerID: a.ID(), Types: []string{"message.queued"}}, head)
		ann := q.FollowRecipient(cli, "ann@remote.test", domain.EventFilter{}, []string{first}, head)
		if recs, full, err := all.Next(ctx, 100); err != nil || full || len(recs) != 0 {
			t.Fatalf("at the head: %d events, full %v, %v", len(recs), full, err)
		}
		later := send(a, "ops@a.example", "ann@remote.test")
		send(a, "ops@a.example", "bob@remote.test")
		other := send(bref, "ops@b.example", "ann@remote.test")
		if _, err := c.CancelHold(ctx, cli, first); err != nil {
			t.Fatal(err)
		}
		e.project(t)

		recs, _, err := all.Next(ctx, 100)
		must(t, err)
		if len(recs) != 6 { // two queued and held on a, one queued on b, one cancel
			t.Errorf("all: %d events, want 6: %s", len(recs), types(recs))
		}
		recs, _, err = queued.Next(ctx, 100)
		must(t, err)
		if len(recs) != 2 || recs[0].Envelope.StreamID != later {
			t.Errorf("queued on a: %s", types(recs))
		}
		recs, _, err = ann.Next(ctx, 100)
		must(t, err)
		streams := map[string]int{}
		for _, r := range recs {
			streams[r.Envelope.StreamID]++
		}
		if len(recs) != 4 || streams[later] != 2 || streams[other] != 1 || streams[first] != 1 {
			t.Errorf("ann's messages: %s (%v)", types(recs), streams)
		}
		// A page of exactly the limit is full: ask again.
		small := q.FollowEvents(cli, domain.EventFilter{}, head)
		if recs, full, err := small.Next(ctx, 3); err != nil || !full || len(recs) != 3 {
			t.Errorf("a page of 3: %d events, full %v, %v", len(recs), full, err)
		}

		// A server key follows its own server only.
		key := e.credential(t, bref, tenancy.CredentialAPI, "")
		e.project(t)
		caller, err := q.AuthenticateAPIKey(ctx, key.Key)
		must(t, err)
		recs, _, err = q.FollowEvents(caller, domain.EventFilter{}, head).Next(ctx, 100)
		must(t, err)
		for _, r := range recs {
			if r.Envelope.Server() != bref.ID() {
				t.Errorf("server b's key saw %s of %s", r.Envelope.Type, r.Envelope.Server())
			}
		}
		if len(recs) != 2 { // the message queued, the key's credential.created
			t.Errorf("server b's key saw %s", types(recs))
		}
		if _, _, err := q.FollowEvents(platform.Caller{}, domain.EventFilter{}, 0).Next(ctx, 10); !errors.Is(err, platform.ErrForbidden) {
			t.Errorf("nobody following: %v", err)
		}
	})
}

func TestHeadNeedsTheReadSide(t *testing.T) {
	e := newEnv(t, backend{sqlstoretest.SQLite(t), sqlstore.SQLite})
	if _, err := e.app.Queries.Head(ctxT(t), cli); !errors.Is(err, platform.ErrNotConfigured) {
		t.Errorf("head without a read side: %v", err)
	}
}

func TestCheckMailbox(t *testing.T) {
	if got, err := platform.CheckMailbox("Ann <Ann@Example.org>"); err != nil || got != "Ann@Example.org" {
		t.Errorf("display name: %q, %v", got, err)
	}
	if _, err := platform.CheckMailbox("bad..x@remote.test"); !errors.Is(err, platform.ErrInvalid) {
		t.Errorf("a bad address: %v", err)
	}
}

// headOnly is a read side that knows only the head of the log.
type headOnly struct{ es domain.EventStore }

func (h headOnly) Head(ctx context.Context) (int64, error) {
	var last int64
	for {
		recs, err := h.es.ReadAll(ctx, last, 1000)
		if err != nil || len(recs) == 0 {
			return last, err
		}
		last = recs[len(recs)-1].Position
	}
}

func (headOnly) Projections() []platform.ProjectionInfo  { return nil }
func (headOnly) RelayLag(context.Context) (int64, error) { return 0, nil }
func (headOnly) Status(context.Context, []string) ([]platform.ProjectionStatus, error) {
	return nil, nil
}
func (headOnly) Replay(context.Context, []string) ([]platform.ReplayResult, error) { return nil, nil }
func (headOnly) Checksum(context.Context, []string) ([]platform.ProjectionChecksum, error) {
	return nil, nil
}

func types(recs []events.Record) string {
	s := ""
	for _, r := range recs {
		s += r.Envelope.Type + " "
	}
	return s
}
