package tenancy_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/posthaste/posthaste/domain/tenancy"
	"github.com/posthaste/posthaste/events"
)

func TestUpdateServer(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	dev, limit, same := "development", 50, 30
	s, changed, err := f.h.UpdateServer(ctx, tenancy.UpdateServer{Ref: ref, Mode: &dev, SendLimitPerHour: &limit, RetentionDays: &same, Actor: cli})
	if err != nil || !changed || s.Mode != "development" || s.SendLimitPerHour != 50 || s.RetentionDays != 30 {
		t.Fatalf("update = %+v, %v, %v", s, changed, err)
	}
	recs, _ := f.store.ReadStream(ctx, events.StreamServer, "acme/billing", 2)
	ev, _ := events.Decode(recs[0].Envelope)
	if want := (&events.ServerUpdated{Mode: &dev, SendLimitPerHour: &limit}); !reflect.DeepEqual(ev, want) {
		t.Fatalf("event = %+v; only changed fields expected", ev)
	}
	if _, changed, err := f.h.UpdateServer(ctx, tenancy.UpdateServer{Ref: ref, Mode: &dev, Actor: cli}); err != nil || changed {
		t.Fatalf("no-op update: %v, %v", changed, err)
	}
	bad := -1
	if _, _, err := f.h.UpdateServer(ctx, tenancy.UpdateServer{Ref: ref, SendLimitPerHour: &bad, Actor: cli}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
	if _, _, err := f.h.UpdateServer(ctx, tenancy.UpdateServer{Ref: tenancy.ServerRef{Org: "acme", Name: "x"}, Mode: &dev, Actor: cli}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown server: %v", err)
	}
}

func TestUpdateCredential(t *testing.T) {
	f := newFixture(t)
	ref := f.withServer(t)
	c, _ := f.h.CreateCredential(ctx, tenancy.CreateCredential{Server: ref, Type: "api", Actor: cli})
	name, hold := "billing app", true
	got, changed, err := f.h.UpdateCredential(ctx, tenancy.UpdateCredential{ID: c.ID, Name: &name, Hold: &hold, Actor: cli})
	if err != nil || !changed || got.Name != name || !got.Hold {
		t.Fatalf("update = %+v, %v, %v", got, changed, err)
	}
	f.h.RevokeCredential(ctx, tenancy.RevokeCredential{ID: c.ID, Actor: cli})
	off := false
	if _, _, err := f.h.UpdateCredential(ctx, tenancy.UpdateCredential{ID: c.ID, Hold: &off, Actor: cli}); !errors.Is(err, tenancy.ErrInvalid) {
		t.Fatalf("update of revoked: %v", err)
	}
}
