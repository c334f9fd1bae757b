package tenancy

import (
	"time"

	"github.com/posthaste/posthaste/events"
)

// Org is an organization: it owns servers and has members.
type Org struct {
	ID        string // lowercase name, the stream id
	Name      string
	CreatedAt time.Time
	CreatedBy events.Actor
}

// Exists reports whether the org stream had its creation event.
func (o *Org) Exists() bool { return o.ID != "" }

func (o *Org) apply(env events.Envelope, ev events.Event) {
	switch e := ev.(type) {
	case *events.OrgCreated:
		o.ID, o.Name, o.CreatedAt, o.CreatedBy = env.StreamID, e.Name, env.OccurredAt, env.Actor
	}
}

// decideCreateOrg validates a new organization.
func decideCreateOrg(name string) ([]events.Event, error) {
	if err := ValidateName("organization", name); err != nil {
		return nil, err
	}
	return []events.Event{events.OrgCreated{Name: name}}, nil
}
