package tenancy

import (
	"context"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// UpdateServer changes a server's settings; nil fields stay as they are.
type UpdateServer struct {
	Ref              ServerRef
	Mode             *string
	SendLimitPerHour *int
	RetentionDays    *int
	Actor            events.Actor
}

// decideUpdate returns server.updated with only the fields that change, or no event.
func (s *Server) decideUpdate(c UpdateServer) ([]events.Event, error) {
	mode, limit, retention := s.Mode, s.SendLimitPerHour, s.RetentionDays
	ev := events.ServerUpdated{}
	changed := false
	if c.Mode != nil && *c.Mode != s.Mode {
		mode, ev.Mode, changed = *c.Mode, c.Mode, true
	}
	if c.SendLimitPerHour != nil && *c.SendLimitPerHour != s.SendLimitPerHour {
		limit, ev.SendLimitPerHour, changed = *c.SendLimitPerHour, c.SendLimitPerHour, true
	}
	if c.RetentionDays != nil && *c.RetentionDays != s.RetentionDays {
		retention, ev.RetentionDays, changed = *c.RetentionDays, c.RetentionDays, true
	}
	if err := validateServerSettings(mode, limit, retention); err != nil {
		return nil, err
	}
	if !changed {
		return nil, nil
	}
	return []events.Event{ev}, nil
}

// UpdateServer appends server.updated when something changes; the bool says whether it did.
func (h *Handlers) UpdateServer(ctx context.Context, c UpdateServer) (Server, bool, error) {
	var out Server
	changed := false
	err := retryOnConflict(func() error {
		var s Server
		v, err := h.load(ctx, events.StreamServer, c.Ref.ID(), &s)
		if err != nil {
			return err
		}
		if !s.Exists() {
			return fmt.Errorf("server %q %w", c.Ref.String(), ErrNotFound)
		}
		evs, err := s.decideUpdate(c)
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			st := stream{typ: events.StreamServer, id: s.ID, serverID: s.ID, version: v}
			if _, err := h.append(ctx, st, c.Actor, "server "+s.ID, evs...); err != nil {
				return err
			}
			changed = true
		}
		out, err = h.GetServer(ctx, c.Ref)
		return err
	})
	return out, changed, err
}
