package tenancy

import (
	"context"
	"fmt"

	"github.com/posthaste/posthaste/events"
)

// CreateServer creates server Ref in an existing organization.
type CreateServer struct {
	Ref              ServerRef
	Mode             string // live (default) or development
	SendLimitPerHour int    // 0 = unlimited
	RetentionDays    int    // 0 = DefaultRetentionDays
	Actor            events.Actor
}

// CreateServer appends server.created at version 1 of stream server/<org>/<name>.
func (h *Handlers) CreateServer(ctx context.Context, c CreateServer) (Server, error) {
	var org Org
	if _, err := h.load(ctx, events.StreamOrg, OrgID(c.Ref.Org), &org); err != nil {
		return Server{}, err
	}
	evs, err := decideCreateServer(org, c.Ref, c.Mode, c.SendLimitPerHour, c.RetentionDays)
	if err != nil {
		return Server{}, err
	}
	s := stream{typ: events.StreamServer, id: c.Ref.ID(), serverID: c.Ref.ID()}
	if _, err := h.append(ctx, s, c.Actor, fmt.Sprintf("server %q", c.Ref.String()), evs...); err != nil {
		return Server{}, err
	}
	return h.GetServer(ctx, c.Ref)
}

// GetServer reads a server from its stream.
func (h *Handlers) GetServer(ctx context.Context, ref ServerRef) (Server, error) {
	var s Server
	if _, err := h.load(ctx, events.StreamServer, ref.ID(), &s); err != nil {
		return Server{}, err
	}
	if !s.Exists() {
		return Server{}, fmt.Errorf("server %q %w", ref.String(), ErrNotFound)
	}
	return s, nil
}
