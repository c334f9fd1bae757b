package tenancy

import (
	"context"
	"errors"
)

// The suppression settings of every new server: a hard bounce and a complaint suppress the
// recipient (server.updated may turn either off).
const (
	DefaultSuppressOnHard      = true
	DefaultSuppressOnComplaint = true
)

// SuppressionPolicy says whether a server suppresses a recipient after a hard bounce and after
// a complaint (inbound.Policies), read from the server's stream (so a change applies at once).
// A server id that names no server (a report for a server deleted or never created) gets the
// defaults of every new server; an id that is not ORG/NAME is an ErrInvalid error.
func (h *Handlers) SuppressionPolicy(ctx context.Context, serverID string) (onHard, onComplaint bool, err error) {
	ref, err := ParseServerRef(serverID)
	if err != nil {
		return false, false, err
	}
	srv, err := h.GetServer(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		return DefaultSuppressOnHard, DefaultSuppressOnComplaint, nil
	}
	if err != nil {
		return false, false, err
	}
	return srv.SuppressOnHard, srv.SuppressOnSpam, nil
}
