package tenancy

import (
	"context"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// RevokeCredential stops a credential from authenticating.
type RevokeCredential struct {
	ID     string
	Reason string
	Actor  events.Actor
}

// RevokeCredential appends credential.revoked; revoking twice is an error.
func (h *Handlers) RevokeCredential(ctx context.Context, c RevokeCredential) (Credential, error) {
	var out Credential
	err := retryOnConflict(func() error {
		var cred Credential
		v, err := h.load(ctx, events.StreamCredential, c.ID, &cred)
		if err != nil {
			return err
		}
		if !cred.Exists() {
			return fmt.Errorf("credential %q %w", c.ID, ErrNotFound)
		}
		evs, err := cred.decideRevoke(c.Reason)
		if err != nil {
			return err
		}
		s := stream{typ: events.StreamCredential, id: c.ID, serverID: cred.ServerID, version: v}
		if _, err := h.append(ctx, s, c.Actor, "credential "+c.ID, evs...); err != nil {
			return err
		}
		out, err = h.GetCredential(ctx, c.ID)
		return err
	})
	return out, err
}
