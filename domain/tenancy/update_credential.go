package tenancy

import (
	"context"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// UpdateCredential renames a credential or changes its hold flag; nil fields stay as they are.
type UpdateCredential struct {
	ID    string
	Name  *string
	Hold  *bool
	Actor events.Actor
}

// decideUpdate returns credential.updated with only the fields that change, or no event.
func (c *Credential) decideUpdate(u UpdateCredential) ([]events.Event, error) {
	if c.Revoked {
		return nil, fmt.Errorf("%w: credential %s is revoked", ErrInvalid, c.ID)
	}
	ev := events.CredentialUpdated{}
	changed := false
	if u.Name != nil && *u.Name != c.Name {
		if *u.Name == "" {
			return nil, fmt.Errorf("%w: credential name is empty", ErrInvalid)
		}
		ev.Name, changed = u.Name, true
	}
	if u.Hold != nil && *u.Hold != c.Hold {
		ev.Hold, changed = u.Hold, true
	}
	if !changed {
		return nil, nil
	}
	return []events.Event{ev}, nil
}

// UpdateCredential appends credential.updated when something changes; the bool says whether it did.
func (h *Handlers) UpdateCredential(ctx context.Context, u UpdateCredential) (Credential, bool, error) {
	var out Credential
	changed := false
	err := retryOnConflict(func() error {
		var c Credential
		v, err := h.load(ctx, events.StreamCredential, u.ID, &c)
		if err != nil {
			return err
		}
		if !c.Exists() {
			return fmt.Errorf("credential %q %w", u.ID, ErrNotFound)
		}
		evs, err := c.decideUpdate(u)
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			s := stream{typ: events.StreamCredential, id: c.ID, serverID: c.ServerID, version: v}
			if _, err := h.append(ctx, s, u.Actor, "credential "+c.ID, evs...); err != nil {
				return err
			}
			changed = true
		}
		out, err = h.GetCredential(ctx, u.ID)
		return err
	})
	return out, changed, err
}
