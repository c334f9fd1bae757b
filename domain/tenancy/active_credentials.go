package tenancy

import (
	"context"

	"github.com/posthaste/posthaste/events"
)

// ActiveCredentials returns every non-revoked credential of a type, of all servers (SMTP-IP
// matching needs them all). Like the other lookups it reads the streams directly.
func (h *Handlers) ActiveCredentials(ctx context.Context, typ string) ([]Credential, error) {
	cs, err := foldStreams(ctx, h.d.Store, events.StreamCredential, "", func() *Credential { return &Credential{} })
	if err != nil {
		return nil, err
	}
	var out []Credential
	for _, c := range cs {
		if c.Exists() && !c.Revoked && c.Type == typ {
			out = append(out, *c)
		}
	}
	return out, nil
}
