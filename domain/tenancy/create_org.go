package tenancy

import (
	"context"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// CreateOrg creates an organization named Name.
type CreateOrg struct {
	Name  string
	Actor events.Actor
}

// CreateOrg appends org.created at version 1 of stream org/<lowercase name>; a second org of the
// same name (in any case) fails with ErrAlreadyExists.
func (h *Handlers) CreateOrg(ctx context.Context, c CreateOrg) (Org, error) {
	evs, err := decideCreateOrg(c.Name)
	if err != nil {
		return Org{}, err
	}
	s := stream{typ: events.StreamOrg, id: OrgID(c.Name)}
	if _, err := h.append(ctx, s, c.Actor, fmt.Sprintf("organization %q", c.Name), evs...); err != nil {
		return Org{}, err
	}
	var o Org
	if _, err := h.load(ctx, s.typ, s.id, &o); err != nil {
		return Org{}, err
	}
	return o, nil
}

// GetOrg reads an organization from its stream.
func (h *Handlers) GetOrg(ctx context.Context, name string) (Org, error) {
	var o Org
	if _, err := h.load(ctx, events.StreamOrg, OrgID(name), &o); err != nil {
		return Org{}, err
	}
	if !o.Exists() {
		return Org{}, fmt.Errorf("organization %q %w", name, ErrNotFound)
	}
	return o, nil
}
